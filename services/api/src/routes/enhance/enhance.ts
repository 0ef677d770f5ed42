import { type EnhanceAccepted, keys, newId, PhotoEnhanceError, type TaskRecordInput } from '@photoenhance/core';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { acceptCallbackUrl } from '../../callbacks/callback-field.ts';
import type { AppDeps, AppEnv } from '../../http/env.ts';
import { taskUrls } from '../../http/urls.ts';
import { contentTypeFor, validateUpload } from '../../upload/validate-upload.ts';

/** Room for multipart boundaries and the small text fields on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;

/**
 * POST /api/v1/enhance: validate everything first (nothing is stored or enqueued for a refused upload), then
 * input object → task record (queued) → SQS message. If a later step fails the earlier writes are undone.
 */
export function enhanceRoutes(deps: AppDeps): Hono<AppEnv> {
  const { storage, queue, config, metrics } = deps;
  const app = new Hono<AppEnv>();

  app.post(
    '/api/v1/enhance',
    // Enforced while the body streams in, so an oversized upload is cut off instead of buffered.
    bodyLimit({
      maxSize: config.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD,
      onError: () => {
        throw new PhotoEnhanceError(
          'FILE_TOO_LARGE',
          `The upload is larger than the limit of ${config.MAX_UPLOAD_BYTES} bytes`,
          {
            details: { maxFileBytes: config.MAX_UPLOAD_BYTES },
          },
        );
      },
    }),
    async (c) => {
      const log = c.get('logger');
      const contentType = c.req.header('content-type') ?? '';
      if (!contentType.toLowerCase().startsWith('multipart/form-data')) {
        throw new PhotoEnhanceError('INVALID_INPUT', 'Send multipart/form-data with the image in the field "file"', {
          details: { field: 'file' },
        });
      }
      let body: Record<string, unknown>;
      try {
        body = await c.req.parseBody();
      } catch (cause) {
        if (cause instanceof PhotoEnhanceError) throw cause;
        throw new PhotoEnhanceError('INVALID_INPUT', 'The multipart body could not be read', { cause });
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
      const now = new Date().toISOString();
      const record: TaskRecordInput = {
        taskId,
        status: 'queued',
        progress: 0,
        stage: 'queued',
        options: upload.options,
        input: {
          key: inputKey,
          filename: upload.filename,
          contentType: contentTypeFor(upload.probe.format),
          bytes: upload.bytes.length,
          width: upload.probe.width,
          height: upload.probe.height,
          format: upload.probe.format,
        },
        attempts: 0,
        ...(callbackUrl ? { callbackUrl } : {}),
        createdAt: now,
        updatedAt: now,
      };

      try {
        await storage.put(inputKey, upload.bytes, {
          contentType: record.input.contentType,
          contentLength: upload.bytes.length,
        });
        await storage.writeTask(record);
        await queue.send({ version: 1, taskId, inputKey, options: upload.options });
      } catch (err) {
        // Undo what was written so a failed request leaves no orphan input or record behind.
        await Promise.allSettled([
          storage.deletePrefix(keys.inputPrefix(taskId)),
          storage.delete(keys.taskRecord(taskId)),
        ]);
        throw err;
      }

      metrics?.tasksCreated.inc();
      log.info(
        { taskId, bytes: upload.bytes.length, format: upload.probe.format, scale: upload.options.scale },
        'task queued',
      );
      const urls = taskUrls(config.PUBLIC_BASE_URL, taskId);
      const accepted: EnhanceAccepted = {
        task_id: taskId,
        status: 'queued',
        status_url: urls.status,
        download_url: urls.download,
        message: 'Task queued; poll status_url until status is completed, then fetch download_url',
      };
      c.header('Location', urls.status);
      return c.json(accepted, 202);
    },
  );
  return app;
}
