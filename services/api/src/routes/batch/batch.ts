import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import {
  type BatchAccepted,
  BatchAcceptedSchema,
  type BatchRejection,
  BatchStatusResponseSchema,
  type EnhanceOptions,
  isPhotoEnhanceError,
  isTerminalStatus,
  newId,
  PhotoEnhanceError,
  taskErrorView,
  withSeedQueryOptions,
} from '@photoenhance/contracts';
import { keys, safeName } from '@photoenhance/core';
import { checkOutputSize } from '@photoenhance/image';
import { stream } from 'hono/streaming';
import { acceptCallbackUrl } from '../../callbacks/callback-field.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import {
  batchIdParams,
  bodyResponse,
  createRouter,
  enhanceFormProperties,
  errorResponses,
  flagQueryParam,
  jsonResponse,
  multipartBody,
  seedQueryParams,
} from '../../http/openapi.ts';
import { bodyTooLarge, declaredBodyLimit, requireMultipart } from '../../http/request.ts';
import { readMultipart } from '../../upload/multipart.ts';
import { receiveFile } from '../../upload/receive-file.ts';
import {
  checkWorkerMemory,
  discardUploads,
  parseEnhanceFields,
  type StoredUpload,
} from '../../upload/validate-upload.ts';
import { presentBatch, presentBatchAccepted, readBatchState } from './batch-state.ts';
import { createBatchZip, type ZipItem } from './batch-zip.ts';
import { batchUrls } from './urls.ts';
import { uniqueNames } from './zip-names.ts';

/** Multipart field names that carry the batch's files (browsers send `files` or `files[]`; `file` repeated works too). */
const FILE_FIELDS = new Set(['files', 'files[]', 'file']);

const statusRoute = createRoute({
  method: 'get',
  path: '/api/v1/batch/status/{batch_task_id}',
  summary: 'Batch status: per-task states, counts and overall progress',
  request: { params: batchIdParams },
  responses: {
    200: jsonResponse('Batch', BatchStatusResponseSchema),
    ...errorResponses({ 400: 'Malformed id', 404: 'Unknown batch' }),
  },
});
const downloadRoute = createRoute({
  method: 'get',
  path: '/api/v1/batch/download/{batch_task_id}',
  summary: 'ZIP of the finished results (streamed from storage) with manifest.json listing failures',
  request: { params: batchIdParams },
  // Described only: the handler reads it; anything but `true` keeps the 409 while tasks run.
  parameters: [
    flagQueryParam('partial', 'true: zip what has finished so far instead of answering 409 while tasks run'),
  ],
  responses: {
    200: bodyResponse('The archive', { 'application/zip': { type: 'string', format: 'binary' } }),
    ...errorResponses({ 400: 'Malformed id', 404: 'Unknown batch', 409: 'Tasks still running' }),
  },
});

interface AcceptedFile {
  index: number;
  taskId: string;
  upload: StoredUpload;
}

/**
 * POST /api/v1/enhance/batch, GET /api/v1/batch/status/{id}, GET /api/v1/batch/download/{id}.
 * A batch is a list of ordinary tasks (one SQS message each, so every worker takes a share) plus a batch
 * record naming them; its state is always computed from the tasks' own records.
 */
export function batchRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const { storage, submitter, access, config, metrics } = deps;
  const app = createRouter();

  const tooLarge = () => bodyTooLarge(config.BATCH_MAX_BYTES, 'batch', 'maxBatchBytes');
  const submitRoute = createRoute({
    method: 'post',
    path: '/api/v1/enhance/batch',
    summary: 'Queue many images with shared options (one task each; refused files are reported, the rest run)',
    middleware: [declaredBodyLimit(config.BATCH_MAX_BYTES, tooLarge)] as const,
    parameters: seedQueryParams(),
    request: {
      body: multipartBody(
        'files',
        {
          type: 'array',
          items: { type: 'string', format: 'binary' },
          maxItems: config.BATCH_MAX_FILES,
          description: `Images (field files or files[]), each at most ${config.MAX_UPLOAD_BYTES} bytes`,
        },
        enhanceFormProperties(),
      ),
    },
    responses: {
      200: jsonResponse('Queued (rejected lists files refused at upload)', BatchAcceptedSchema),
      ...errorResponses({
        400: 'No files, too many files, or an invalid option',
        413: 'Batch over the size limit',
        415: 'No file is a supported image',
        422: 'No file was accepted (empty, corrupt, too many pixels)',
        429: 'Over the rate limit or the active-task quota',
        503: 'Storage or queue unavailable (retry)',
      }),
    },
  });
  app.openapi(submitRoute, async (c) => {
    const log = c.get('logger');
    requireMultipart(c, 'files', 'the images');
    await submitter.precheck(c.get('tenant'));
    // Each file streams to its own input key as it arrives (receiveFile): refused files are reported, the
    // others still run. A storage failure, the body limit or too many files refuse the whole batch.
    const form = await readMultipart(c, {
      fileFields: FILE_FIELDS,
      maxFiles: config.BATCH_MAX_FILES,
      tooManyFiles: (atLeast) =>
        new PhotoEnhanceError(
          'INVALID_INPUT',
          `A batch holds at most ${config.BATCH_MAX_FILES} files; at least ${atLeast} were sent`,
          { details: { files: atLeast, maxFiles: config.BATCH_MAX_FILES } },
        ),
      maxBodyBytes: config.BATCH_MAX_BYTES,
      tooLarge,
      fatal: (err) => !isPhotoEnhanceError(err) || err.status >= 500,
      onFile: async ({ filename, stream }): Promise<AcceptedFile> => {
        const taskId = newId();
        const name = safeName(filename, 'image');
        const received = await receiveFile(stream, keys.input(taskId, name), storage, {
          maxFileBytes: config.MAX_UPLOAD_BYTES,
          maxInputPixels: config.MAX_INPUT_PIXELS,
          readBack: deps.verifications,
        });
        return { index: -1, taskId, upload: { ...received, filename: name } };
      },
    });
    const storedKeys = form.files.flatMap((f) => (f.result.status === 'fulfilled' ? [f.result.value.upload.key] : []));

    const accepted: AcceptedFile[] = [];
    const rejected: BatchRejection[] = [];
    let options: EnhanceOptions;
    let callbackUrl: string | undefined;
    try {
      if (form.error) throw form.error;
      // Shared options first: a bad option refuses the whole batch.
      options = parseEnhanceFields(withSeedQueryOptions(form.fields, c.req.query()));
      // One callback_url for the batch: every task of it reports there when it finishes.
      callbackUrl = acceptCallbackUrl(form.fields.callback_url, config);
      if (form.files.length === 0) {
        throw new PhotoEnhanceError('INVALID_INPUT', 'Send one or more images in the multipart field "files"', {
          details: { field: 'files' },
        });
      }
      // Every file is checked like a single upload; refused files are reported, the others still run.
      for (const { index, filename, result } of form.files) {
        try {
          if (result.status === 'rejected') throw result.reason;
          const { upload } = result.value;
          checkOutputSize(upload.probe.width, upload.probe.height, options.scale, {
            maxOutputPixels: config.MAX_OUTPUT_PIXELS,
          });
          checkWorkerMemory(upload.probe, options, config.WORKER_MEMORY_BUDGET_MB);
          accepted.push({ ...result.value, index });
        } catch (err) {
          if (!isPhotoEnhanceError(err) || err.status >= 500) throw err;
          metrics?.uploadsRejected.inc({ code: err.code });
          if (result.status === 'fulfilled') await discardUploads(storage, [result.value.upload.key]);
          rejected.push({
            index,
            filename: filename || `file ${index + 1}`,
            error: { code: err.code, message: err.message },
          });
        }
      }
      if (accepted.length === 0) {
        const first = rejected[0]?.error;
        throw new PhotoEnhanceError(
          first?.code ?? 'INVALID_INPUT',
          `No file of the batch was accepted${first ? `: ${first.message}` : ''}`,
          { details: { rejected } },
        );
      }
    } catch (err) {
      await discardUploads(storage, storedKeys);
      throw err;
    }

    const batchId = newId();
    const { createdAt } = await submitter.submit(
      accepted.map(({ taskId, upload }) => ({
        taskId,
        inputKey: upload.key,
        filename: upload.filename,
        bytes: upload.bytes,
        probe: upload.probe,
        options,
        callbackUrl,
      })),
      { tenant: c.get('tenant'), batch: { batchId, rejected } },
    );

    metrics?.tasksCreated.inc(accepted.length);
    log.info({ batchId, tasks: accepted.length, rejected: rejected.length }, 'batch queued');
    const body = presentBatchAccepted({
      batchId,
      createdAt,
      accepted: accepted.map(({ taskId, upload }) => ({ taskId, filename: upload.filename })),
      rejected,
      filesSent: form.files.length,
      baseUrl: config.PUBLIC_BASE_URL,
    });
    // 200, as PhotoEnhanceAI answers (its clients check for exactly 200).
    c.header('Location', body.status_url);
    return c.json(body, 200);
  });

  app.openapi(statusRoute, async (c) => {
    const state = await readBatchState(
      access.batchSource(c.get('tenant'), { fresh: true }),
      c.req.param('batch_task_id'),
    );
    c.header('Cache-Control', 'no-store');
    return c.json(presentBatch(state, config.PUBLIC_BASE_URL));
  });

  /**
   * The finished results as one ZIP, streamed from S3 (never held whole). Refused with 409 while tasks are
   * still running unless ?partial=true, which zips what has finished so far (the rest is listed as pending).
   */
  app.openapi(downloadRoute, async (c) => {
    const state = await readBatchState(
      access.batchSource(c.get('tenant'), { fresh: true }),
      c.req.param('batch_task_id'),
    );
    const { record, tasks } = state;
    const unfinished = tasks.filter((t) => t.task && !isTerminalStatus(t.task.status)).length;
    if (unfinished > 0 && c.req.query('partial') !== 'true') {
      const summary = presentBatch(state, config.PUBLIC_BASE_URL);
      throw new PhotoEnhanceError(
        'CONFLICT',
        `${unfinished} of ${tasks.length} tasks are still running; download once the batch has finished (or add ?partial=true)`,
        { details: { status: summary.status, progress: summary.progress, unfinished } },
      );
    }

    const completed = tasks.filter((t) => t.task?.status === 'completed' && t.task.result);
    const names = uniqueNames(completed.map((t) => t.task?.result?.filename ?? `${t.taskId}.bin`));
    const items: ZipItem[] = completed.map((t, i) => ({
      taskId: t.taskId,
      original: t.task?.input.filename ?? '',
      name: names[i] as string,
      key: t.task?.result?.key ?? '',
      date: t.task?.completedAt ? new Date(t.task.completedAt) : undefined,
    }));
    const failures = [
      ...tasks
        .filter((t) => t.task?.status !== 'completed' || !t.task.result)
        .map((t) => ({
          task_id: t.taskId,
          ...(t.task ? { original: t.task.input.filename } : {}),
          status: t.task ? (isTerminalStatus(t.task.status) ? t.task.status : 'pending') : 'deleted',
          ...(t.task?.error ? { error: taskErrorView(t.task.error) } : {}),
        })),
      ...record.rejected.map((r) => ({ original: r.filename, status: 'rejected', error: r.error })),
    ];

    const log = c.get('logger');
    log.info({ batchId: record.batchId, files: items.length, failures: failures.length }, 'batch zip requested');
    const archive = createBatchZip(
      storage,
      { batchId: record.batchId, createdAt: record.createdAt, items, failures },
      log,
    );
    c.header('Content-Type', 'application/zip');
    c.header('Content-Disposition', `attachment; filename="batch-${record.batchId}.zip"`);
    c.header('Cache-Control', 'no-store');
    return stream(
      c,
      async (out) => {
        out.onAbort(() => {
          archive.destroy();
        });
        for await (const chunk of archive) await out.write(chunk as Uint8Array);
      },
      // Headers are gone by now: the client sees a cut-off archive, which unzip reports as damaged.
      async (err) => log.error({ err, batchId: record.batchId }, 'batch zip stream aborted'),
    );
  });

  return app;
}
