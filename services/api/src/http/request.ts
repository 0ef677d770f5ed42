import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';
import { presentAccepted } from './present.ts';

/** 413 for a body over `limitBytes` (what the client is told; the enforced size may add multipart framing). */
export function bodyTooLarge(limitBytes: number, what: string, detail: string): PhotoEnhanceError {
  return new PhotoEnhanceError('FILE_TOO_LARGE', `The ${what} is larger than the limit of ${limitBytes} bytes`, {
    details: { [detail]: limitBytes },
  });
}

/**
 * Refuses a body whose Content-Length is over `maxSize` before reading any of it. Bodies without one (chunked)
 * are counted as they stream by the multipart reader: hono's bodyLimit would buffer them whole.
 */
export function declaredBodyLimit(maxSize: number, tooLarge: () => PhotoEnhanceError): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (!c.req.header('transfer-encoding') && declared > maxSize) throw tooLarge();
    await next();
  };
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

/**
 * The answer for a queued task, with the URLs clients poll and download from: 200 for POST /api/v1/enhance
 * (PhotoEnhanceAI's clients check for exactly 200), 202 for a direct-upload start (this API's own route).
 */
export function queuedResponse(
  c: Context<AppEnv>,
  publicBaseUrl: string | undefined,
  taskId: string,
  createdAt: string,
  status: 200 | 202 = 200,
): Response {
  const accepted = presentAccepted(taskId, createdAt, publicBaseUrl);
  c.header('Location', accepted.status_url);
  return c.json(accepted, status);
}
