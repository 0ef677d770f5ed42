import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import {
  DIRECT_UPLOAD_CONTENT_TYPES,
  DirectUploadCreatedSchema,
  DirectUploadRequestSchema,
  EnhanceAcceptedSchema,
  EnhanceFormSchema,
  type EnhanceOptions,
  enhanceOptionsFromForm,
  isPhotoEnhanceError,
  PhotoEnhanceError,
  parseId,
  taskUrls,
} from '@photoenhance/contracts';
import type { Logger } from 'pino';
import type { Tenant } from '../../auth/tenants.ts';
import { acceptCallbackUrl } from '../../callbacks/callback-field.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { fromZodError } from '../../http/errors.ts';
import {
  createRouter,
  describedJsonBody,
  errorResponses,
  jsonResponse,
  jsonSchema,
  taskIdParams,
} from '../../http/openapi.ts';
import { queuedResponse } from '../../http/request.ts';
import { jsonLimit, readBody } from '../../http/small-body.ts';
import { claimUploadStart } from '../../tasks/start-claim.ts';
import { createStartQueue, issueDirectUpload } from '../../upload/direct-upload.ts';
import { checkWorkerMemory } from '../../upload/validate-upload.ts';
import { verifyStoredImage } from './verify-object.ts';

/** Same names and rules as the multipart fields of POST /api/v1/enhance; JSON numbers and booleans work too. */
function parseStartOptions(body: Record<string, unknown>): EnhanceOptions {
  const parsed = EnhanceFormSchema.safeParse(body);
  if (!parsed.success) throw fromZodError(parsed.error);
  return enhanceOptionsFromForm(parsed.data);
}

const startRoute = createRoute({
  method: 'post',
  path: '/api/v1/tasks/{task_id}/start',
  summary: 'Start a directly uploaded task: the stored file is verified (size, format, pixels), then queued',
  middleware: [jsonLimit()] as const,
  request: { params: taskIdParams, body: describedJsonBody(EnhanceFormSchema, { required: false }) },
  responses: {
    202: jsonResponse('Queued', EnhanceAcceptedSchema),
    ...errorResponses({
      400: 'Invalid option, or the stored size differs from the declared one',
      404: 'No pending upload for this task',
      409: 'Not uploaded yet, or already started',
      413: 'Stored file over the limit',
      415: 'The stored file is not a supported image',
      422: 'Empty, corrupt, too many pixels or output too large',
    }),
  },
});

/** The upload request as JSON Schema, naming the accepted types and this server's size limit. */
function uploadRequestBody(maxBytes: number) {
  const request = jsonSchema(DirectUploadRequestSchema, 'input');
  // The input side of a trimmed, lower-cased enum is a plain string: name the accepted values.
  request.properties = {
    ...request.properties,
    content_type: { type: 'string', enum: [...DIRECT_UPLOAD_CONTENT_TYPES] },
    size: { type: 'integer', minimum: 1, maximum: maxBytes },
  };
  return { required: true, content: { 'application/json': { schema: request } } };
}

/**
 * Direct uploads for big files: POST /api/v1/uploads hands out a presigned PUT (type and size signed, short
 * expiry) so the bytes go straight to storage, not through the API; POST /api/v1/tasks/{id}/start then
 * verifies the stored object like an upload before the task is queued.
 */
export function uploadRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const { storage, records, access, submitter, verifications, config, metrics } = deps;
  const app = createRouter();
  /** Starts in progress on this instance, per task: a concurrent second start for one upload waits its turn. */
  const startOneAtATime = createStartQueue();

  const createUploadRoute = createRoute({
    method: 'post',
    path: '/api/v1/uploads',
    summary: 'Direct upload for big files: a presigned PUT URL (content type and size signed, short expiry)',
    middleware: [jsonLimit()] as const,
    request: { body: uploadRequestBody(config.DIRECT_UPLOAD_MAX_BYTES) },
    responses: {
      201: jsonResponse(
        `Upload URL issued (files up to ${config.DIRECT_UPLOAD_MAX_BYTES} bytes)`,
        DirectUploadCreatedSchema,
      ),
      ...errorResponses({ 400: 'Invalid body or content type', 413: 'File over the direct-upload limit' }),
    },
  });
  app.openapi(createUploadRoute, async (c) => {
    const parsed = DirectUploadRequestSchema.safeParse(await readBody(c));
    if (!parsed.success) throw fromZodError(parsed.error);
    const request = parsed.data;
    if (request.size > config.DIRECT_UPLOAD_MAX_BYTES) {
      throw new PhotoEnhanceError(
        'FILE_TOO_LARGE',
        `The file is ${request.size} bytes; the limit for direct uploads is ${config.DIRECT_UPLOAD_MAX_BYTES} bytes`,
        { details: { bytes: request.size, maxFileBytes: config.DIRECT_UPLOAD_MAX_BYTES } },
      );
    }
    const body = await issueDirectUpload(
      deps,
      {
        tenant: c.get('tenant'),
        kind: 'image',
        filename: request.filename,
        fallbackName: 'image',
        contentType: request.content_type,
        size: request.size,
        startPath: (taskId) => `/api/v1/tasks/${taskId}/start`,
        statusUrl: (taskId) => taskUrls(config.PUBLIC_BASE_URL, taskId).status,
        message: 'PUT the file to upload.url with upload.headers, then POST start_url with the enhance options',
      },
      c.get('logger'),
    );
    return c.json(body, 201);
  });

  app.openapi(startRoute, async (c) => {
    const taskId = parseId(c.req.param('task_id'));
    const log = c.get('logger');
    // Options first: a typo is fixed by calling start again, so it must not cost the upload.
    const startBody = await readBody(c);
    const options = parseStartOptions(startBody);
    const callbackUrl = acceptCallbackUrl(startBody.callback_url, config);

    const tenant = c.get('tenant');
    const createdAt = await startOneAtATime(taskId, () => startUpload(tenant, taskId, options, callbackUrl, log));
    // 202: the seed has no such route; this API's own answer for starting a direct upload.
    return queuedResponse(c, config.PUBLIC_BASE_URL, taskId, createdAt, 202);
  });

  async function startUpload(
    tenant: Tenant,
    taskId: string,
    options: EnhanceOptions,
    callbackUrl: string | undefined,
    log: Logger,
  ): Promise<string> {
    const upload = await access.upload(tenant, taskId);
    const existing = await records.tasks.read(taskId);
    if (existing) {
      // Only the owner learns that its task exists; anyone else gets the same 404 as for an unknown id.
      if (!deps.tenants.canSee(tenant, existing.owner)) {
        throw new PhotoEnhanceError('NOT_FOUND', `No pending upload for task ${taskId}`);
      }
      throw new PhotoEnhanceError('CONFLICT', `Task ${taskId} has already been started`, {
        details: { status: existing.status },
      });
    }
    if (!upload) throw new PhotoEnhanceError('NOT_FOUND', `No pending upload for task ${taskId}`);
    if (upload.kind === 'video') {
      throw new PhotoEnhanceError(
        'CONFLICT',
        `Task ${taskId} is a video upload: start it at /api/v1/videos/${taskId}/start`,
      );
    }
    const object = await storage.head(upload.key);
    if (!object) {
      throw new PhotoEnhanceError('CONFLICT', 'The file has not been uploaded yet: PUT it to the upload URL first', {
        details: { expires_at: upload.expiresAt },
      });
    }

    let probe: Awaited<ReturnType<typeof verifyStoredImage>>;
    try {
      if (object.bytes !== upload.bytes) {
        throw new PhotoEnhanceError(
          'INVALID_INPUT',
          `The stored file is ${object.bytes} bytes, not the ${upload.bytes} declared for the upload`,
          { details: { bytes: object.bytes, declared: upload.bytes } },
        );
      }
      probe = await verifications.run(() =>
        verifyStoredImage(storage, object, options.scale, {
          maxFileBytes: config.DIRECT_UPLOAD_MAX_BYTES,
          maxInputPixels: config.MAX_INPUT_PIXELS,
          maxOutputPixels: config.MAX_OUTPUT_PIXELS,
        }),
      );
      checkWorkerMemory(probe, options, config.WORKER_MEMORY_BUDGET_MB);
    } catch (err) {
      if (isPhotoEnhanceError(err) && !err.retryable) {
        // The stored file can never start: remove it and the pending upload, nothing is left behind.
        metrics?.uploadsRejected.inc({ code: err.code });
        await Promise.allSettled([storage.delete(upload.key), records.uploads.delete(taskId)]);
        log.info({ code: err.code }, 'direct upload refused');
      }
      throw err;
    }

    // Across API instances: a create-only claim, so of two starts racing on different instances one sends the job.
    const claim = await claimUploadStart(storage, records, taskId);
    // Quota, message, record (with the owner); a failure leaves the upload startable again.
    let createdAt: string;
    try {
      ({ createdAt } = await submitter.submit(
        [{ taskId, inputKey: upload.key, filename: upload.filename, bytes: object.bytes, probe, options, callbackUrl }],
        { tenant, fromDirectUpload: true },
      ));
    } catch (err) {
      await storage.delete(claim).catch(() => undefined);
      throw err;
    }
    await records.uploads.delete(taskId).catch((err: unknown) => {
      log.warn({ err }, 'pending upload record not deleted; the task record guards against a second start');
    });
    // The task record now answers every later start (409); the claim has done its work.
    await storage.delete(claim).catch(() => undefined);
    metrics?.tasksCreated.inc();
    log.info({ bytes: object.bytes, format: probe.format, scale: options.scale }, 'direct upload started');
    return createdAt;
  }

  return app;
}
