import { type EnhanceAccepted, PhotoEnhanceError, taskUrls } from '@photoenhance/contracts';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './env.ts';

/**
 * A body limit enforced while the body streams in, so an oversized upload is cut off instead of
 * buffered. `limitBytes` is what the client is told; `maxSize` may add room for multipart framing.
 */
export function streamingBodyLimit(
  maxSize: number,
  limitBytes: number,
  what: string,
  detail: string,
): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new PhotoEnhanceError('FILE_TOO_LARGE', `The ${what} is larger than the limit of ${limitBytes} bytes`, {
        details: { [detail]: limitBytes },
      });
    },
  });
}

/** Refuses anything but multipart/form-data, naming the field the image(s) belong in. */
export function requireMultipart(c: Context<AppEnv>, field: string, what: string): void {
  const contentType = c.req.header('content-type') ?? '';
  if (!contentType.toLowerCase().startsWith('multipart/form-data')) {
    throw new PhotoEnhanceError('INVALID_INPUT', `Send multipart/form-data with ${what} in the field "${field}"`, {
      details: { field },
    });
  }
}

/** A body parser failure is the client's malformed multipart, unless the body limit already spoke. */
export function unreadableBody(cause: unknown): PhotoEnhanceError {
  if (cause instanceof PhotoEnhanceError) return cause;
  return new PhotoEnhanceError('INVALID_INPUT', 'The multipart body could not be read', { cause });
}

/** 202 for a queued task, with the URLs the seed's clients poll and download from. */
export function queuedResponse(c: Context<AppEnv>, publicBaseUrl: string | undefined, taskId: string): Response {
  const urls = taskUrls(publicBaseUrl, taskId);
  const accepted: EnhanceAccepted = {
    task_id: taskId,
    status: 'queued',
    status_url: urls.status,
    download_url: urls.download,
    message: 'Task queued; poll status_url until status is completed, then fetch download_url',
  };
  c.header('Location', urls.status);
  return c.json(accepted, 202);
}
