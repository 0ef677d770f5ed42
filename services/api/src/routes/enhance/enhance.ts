import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import {
  EnhanceAcceptedSchema,
  isPhotoEnhanceError,
  newId,
  PhotoEnhanceError,
  withSeedQueryOptions,
} from '@photoenhance/contracts';
import { keys, safeName } from '@photoenhance/core';
import { checkOutputSize } from '@photoenhance/image';
import { acceptCallbackUrl } from '../../callbacks/callback-field.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import {
  createRouter,
  enhanceFormProperties,
  errorResponses,
  jsonResponse,
  multipartBody,
  seedQueryParams,
} from '../../http/openapi.ts';
import { bodyTooLarge, declaredBodyLimit, queuedResponse, requireMultipart } from '../../http/request.ts';
import { readMultipart } from '../../upload/multipart.ts';
import { receiveFile } from '../../upload/receive-file.ts';
import {
  checkWorkerMemory,
  discardUploads,
  parseEnhanceFields,
  type StoredUpload,
} from '../../upload/validate-upload.ts';

/** Room for multipart boundaries and the small text fields on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;
const FILE_FIELD = new Set(['file']);

/**
 * POST /api/v1/enhance: the file streams straight to its input key while it arrives (sniffed, probed and
 * size-checked on the way, see receiveFile), then the form's options are checked; a refused request removes
 * what it stored before answering. Then the task submitter queues it (quota, owner, input → message → record).
 */
export function enhanceRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const { storage, submitter, config, metrics } = deps;
  const app = createRouter();
  const tooLarge = () => bodyTooLarge(config.MAX_UPLOAD_BYTES, 'upload', 'maxFileBytes');

  const route = createRoute({
    method: 'post',
    path: '/api/v1/enhance',
    summary: 'Queue an image for enhancement',
    middleware: [declaredBodyLimit(config.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD, tooLarge)] as const,
    parameters: seedQueryParams(),
    request: {
      body: multipartBody(
        'file',
        { type: 'string', format: 'binary', description: `Image, at most ${config.MAX_UPLOAD_BYTES} bytes` },
        enhanceFormProperties(),
      ),
    },
    responses: {
      200: jsonResponse('Queued (200, as PhotoEnhanceAI answers; created_at in epoch seconds)', EnhanceAcceptedSchema),
      ...errorResponses({
        400: 'Missing file or invalid option (INVALID_INPUT, INVALID_OPTIONS)',
        413: 'Upload over the limit (FILE_TOO_LARGE)',
        415: 'Not a supported image (UNSUPPORTED_FORMAT)',
        422: 'Empty, corrupt, too many pixels or output too large',
        429: 'Over the rate limit or the active-task quota',
        503: 'Storage or queue unavailable (retry)',
      }),
    },
  });
  app.openapi(route, async (c) => {
    const log = c.get('logger');
    requireMultipart(c, 'file', 'the image');
    // Over the active-task quota: refused before a byte of the body is stored.
    await submitter.precheck(c.get('tenant'));
    const taskId = newId();
    const form = await readMultipart(c, {
      fileFields: FILE_FIELD,
      maxFiles: 1,
      maxBodyBytes: config.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD,
      tooLarge,
      // One file: once it is refused, reading the rest of the body is wasted work (the answer goes out at once).
      fatal: () => true,
      onFile: async ({ filename, stream }): Promise<StoredUpload> => {
        const name = safeName(filename, 'image');
        const received = await receiveFile(stream, keys.input(taskId, name), storage, {
          maxFileBytes: config.MAX_UPLOAD_BYTES,
          maxInputPixels: config.MAX_INPUT_PIXELS,
          readBack: deps.verifications,
        });
        return { ...received, filename: name };
      },
    });
    const stored = form.files.flatMap((f) => (f.result.status === 'fulfilled' ? [f.result.value] : []));

    let upload: StoredUpload;
    let options: ReturnType<typeof parseEnhanceFields>;
    let callbackUrl: string | undefined;
    try {
      callbackUrl = acceptCallbackUrl(form.fields.callback_url, config);
      try {
        // Same order as before streaming: options (those that arrived), then the file, then the output size.
        options = parseEnhanceFields(withSeedQueryOptions(form.fields, c.req.query()));
        if (form.error) throw form.error;
        const part = form.files[0];
        if (!part) {
          throw new PhotoEnhanceError('INVALID_INPUT', 'Send the image as the multipart field "file"', {
            details: { field: 'file' },
          });
        }
        if (part.result.status === 'rejected') throw part.result.reason;
        upload = part.result.value;
        checkOutputSize(upload.probe.width, upload.probe.height, options.scale, {
          maxOutputPixels: config.MAX_OUTPUT_PIXELS,
        });
        checkWorkerMemory(upload.probe, options, config.WORKER_MEMORY_BUDGET_MB);
      } catch (err) {
        if (isPhotoEnhanceError(err) && err.status < 500) metrics?.uploadsRejected.inc({ code: err.code });
        throw err;
      }
    } catch (err) {
      await discardUploads(
        storage,
        stored.map((s) => s.key),
      );
      throw err;
    }

    const { createdAt } = await submitter.submit(
      [
        {
          taskId,
          inputKey: upload.key,
          filename: upload.filename,
          bytes: upload.bytes,
          probe: upload.probe,
          options,
          callbackUrl,
        },
      ],
      { tenant: c.get('tenant') },
    );

    metrics?.tasksCreated.inc();
    log.info({ taskId, bytes: upload.bytes, format: upload.probe.format, scale: options.scale }, 'task queued');
    return queuedResponse(c, config.PUBLIC_BASE_URL, taskId, createdAt);
  });
  return app;
}
