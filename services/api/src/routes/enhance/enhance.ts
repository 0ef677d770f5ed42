import { newId, PhotoEnhanceError } from '@photoenhance/contracts';
import { keys } from '@photoenhance/core';
import { Hono } from 'hono';
import { acceptCallbackUrl } from '../../callbacks/callback-field.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { queuedResponse, requireMultipart, streamingBodyLimit, unreadableBody } from '../../http/request.ts';
import { queuedTaskRecord } from '../../upload/task-record.ts';
import { validateUpload } from '../../upload/validate-upload.ts';

/** Room for multipart boundaries and the small text fields on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;

/**
 * POST /api/v1/enhance: validate everything first (nothing is stored or enqueued for a refused upload), then
 * input object → SQS message → task record (queued). If a later step fails the earlier writes are undone.
 */
export function enhanceRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { storage, records, queue, config, metrics } = deps;
  const app = new Hono<AppEnv>();

  app.post(
    '/api/v1/enhance',
    streamingBodyLimit(config.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD, config.MAX_UPLOAD_BYTES, 'upload', 'maxFileBytes'),
    async (c) => {
      const log = c.get('logger');
      requireMultipart(c, 'file', 'the image');
      let body: Record<string, unknown>;
      try {
        body = await c.req.parseBody();
      } catch (cause) {
        throw unreadableBody(cause);
      }

      const callbackUrl = acceptCallbackUrl(body.callback_url, config);
      let upload: Awaited<ReturnType<typeof validateUpload>>;
      try {
        upload = await validateUpload(body, {
          maxFileBytes: config.MAX_UPLOAD_BYTES,
          maxInputPixels: config.MAX_INPUT_PIXELS,
          maxOutputPixels: config.MAX_OUTPUT_PIXELS,
        });
      } catch (err) {
        if (err instanceof PhotoEnhanceError) metrics?.uploadsRejected.inc({ code: err.code });
        throw err;
      }

      const taskId = newId();
      const inputKey = keys.input(taskId, upload.filename);
      const record = queuedTaskRecord({
        taskId,
        inputKey,
        filename: upload.filename,
        bytes: upload.bytes.length,
        probe: upload.probe,
        options: upload.options,
        callbackUrl,
      });

      try {
        // Input, then message, then record (crash-safe order): a record exists only once its job was sent, so
        // none is ever left `queued` without one. A job whose record never comes (the API died in between) is
        // dropped by the worker after WORKER_RECORD_GRACE_MS; an input without a job expires with inputs/.
        await storage.put(inputKey, upload.bytes, {
          contentType: record.input.contentType,
          contentLength: upload.bytes.length,
        });
        await queue.send({ version: 1, taskId, inputKey, options: upload.options });
        await records.tasks.write(record);
      } catch (err) {
        // Undo what was written so a failed request leaves no orphan input or record behind (a job already
        // sent finds no record and is dropped).
        await Promise.allSettled([storage.deletePrefix(keys.inputPrefix(taskId)), records.tasks.delete(taskId)]);
        throw err;
      }

      metrics?.tasksCreated.inc();
      log.info(
        { taskId, bytes: upload.bytes.length, format: upload.probe.format, scale: upload.options.scale },
        'task queued',
      );
      return queuedResponse(c, config.PUBLIC_BASE_URL, taskId);
    },
  );
  return app;
}
