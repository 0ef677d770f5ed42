import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import {
  DirectUploadCreatedSchema,
  EnhanceAcceptedSchema,
  EnhanceFormSchema,
  enhanceOptionsFromForm,
  isPhotoEnhanceError,
  PhotoEnhanceError,
  parseId,
  type UploadRecord,
  VIDEO_UPLOAD_CONTENT_TYPES,
  VideoFormSchema,
  VideoUploadRequestSchema,
  videoOutputFromForm,
} from '@photoenhance/contracts';
import { checkVideoLimits, probeVideo } from '@photoenhance/video';
import type { Logger } from 'pino';
import type { Tenant } from '../../auth/tenants.ts';
import { acceptCallbackUrl } from '../../callbacks/callback-field.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { fromZodError } from '../../http/errors.ts';
import { createRouter, errorResponses, jsonResponse, jsonSchema, taskIdParams } from '../../http/openapi.ts';
import { jsonLimit, readBody } from '../../http/small-body.ts';
import { claimUploadStart } from '../../tasks/start-claim.ts';
import { createStartQueue, issueDirectUpload } from '../../upload/direct-upload.ts';
import { submitVideo } from './submit-video.ts';
import { acceptedVideo, videoLimits, videoUrls } from './video-request.ts';

/** How long ffprobe may read the stored clip by its presigned URL (a packet scan: no decoding). */
const PROBE_URL_SECONDS = 15 * 60;

/** The start body: the photo options and the video fields of POST /api/v1/videos, as JSON. */
const VideoStartSchema = z.object({ ...EnhanceFormSchema.shape, ...VideoFormSchema.shape }).partial();

/** The start options: photo fields (JSON numbers and booleans as in /api/v1/tasks/{id}/start) + video fields. */
function parseStart(body: Record<string, unknown>) {
  // VideoFormSchema takes form strings ("true"); JSON booleans are read the same way.
  const fields = Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k, typeof v === 'boolean' && k === 'smooth_faces' ? String(v) : v]),
  );
  const enhance = EnhanceFormSchema.safeParse(fields);
  if (!enhance.success) throw fromZodError(enhance.error);
  const video = VideoFormSchema.safeParse(fields);
  if (!video.success) throw fromZodError(video.error);
  return { options: enhanceOptionsFromForm(enhance.data), video: videoOutputFromForm(video.data) };
}

/**
 * Direct uploads of big videos, the photo flow (routes/uploads) with the video's own limits and probe:
 * POST /api/v1/videos/uploads hands out a presigned PUT (type and size signed, VIDEO_MAX_UPLOAD_BYTES), the
 * bytes go straight to storage; POST /api/v1/videos/{id}/start probes the stored object with ffprobe over a
 * presigned GET (a packet scan by range requests: the API neither decodes nor holds the clip), checks the
 * video limits, reserves the caller's quota and queues the segments — once, even when starts race (the
 * per-instance queue and the create-only start claim, as for photos). The pending upload is the photo one
 * (uploads/{id}.json, kind video): owner checks, expiry and the sweeper's retention are the same.
 */
export function videoUploadRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const { storage, records, access, submitter, verifications, config, metrics, queue } = deps;
  const app = createRouter();
  const maxBytes = config.VIDEO_MAX_UPLOAD_BYTES;
  const limits = videoLimits(config);
  const startOneAtATime = createStartQueue();

  const request = jsonSchema(VideoUploadRequestSchema, 'input');
  request.properties = {
    ...request.properties,
    content_type: { type: 'string', enum: [...VIDEO_UPLOAD_CONTENT_TYPES] },
    size: { type: 'integer', minimum: 1, maximum: maxBytes },
  };
  const createUploadRoute = createRoute({
    method: 'post',
    path: '/api/v1/videos/uploads',
    summary: 'Direct upload of a big video: a presigned PUT URL (content type and size signed, short expiry)',
    middleware: [jsonLimit()] as const,
    request: { body: { required: true, content: { 'application/json': { schema: request } } } },
    responses: {
      201: jsonResponse(`Upload URL issued (videos up to ${maxBytes} bytes)`, DirectUploadCreatedSchema),
      ...errorResponses({ 400: 'Invalid body or content type', 413: 'File over VIDEO_MAX_UPLOAD_BYTES' }),
    },
  });
  app.openapi(createUploadRoute, async (c) => {
    const parsed = VideoUploadRequestSchema.safeParse(await readBody(c));
    if (!parsed.success) throw fromZodError(parsed.error);
    const body = parsed.data;
    if (body.size > maxBytes) {
      throw new PhotoEnhanceError('FILE_TOO_LARGE', `The video is ${body.size} bytes; the limit is ${maxBytes} bytes`, {
        details: { bytes: body.size, maxFileBytes: maxBytes },
      });
    }
    // Over the quota already: refused before the client spends its upload.
    const tenant = c.get('tenant');
    await submitter.precheck(tenant);
    const created = await issueDirectUpload(
      deps,
      {
        tenant,
        kind: 'video',
        filename: body.filename,
        fallbackName: 'video',
        contentType: body.content_type,
        size: body.size,
        startPath: (taskId) => `/api/v1/videos/${taskId}/start`,
        statusUrl: (taskId) => videoUrls(config.PUBLIC_BASE_URL, taskId).status,
        message: 'PUT the video to upload.url with upload.headers, then POST start_url with the options (JSON)',
      },
      c.get('logger'),
    );
    return c.json(created, 201);
  });

  const startRoute = createRoute({
    method: 'post',
    path: '/api/v1/videos/{task_id}/start',
    summary: 'Start a directly uploaded video: probed in storage (ffprobe, no decoding), checked, split into segments',
    middleware: [jsonLimit()] as const,
    request: {
      params: taskIdParams,
      body: { required: false, content: { 'application/json': { schema: jsonSchema(VideoStartSchema, 'input') } } },
    },
    responses: {
      202: jsonResponse('Queued; poll status_url or follow events_url', EnhanceAcceptedSchema),
      ...errorResponses({
        400: 'Invalid option, or the stored size differs from the declared one',
        404: 'No pending video upload for this task',
        409: 'Not uploaded yet, already started, or a photo upload',
        415: 'The stored file is not a supported video',
        422: 'Over the duration, frame or pixel limits, or unreadable',
        429: 'Over MAX_ACTIVE_TASKS_PER_KEY',
      }),
    },
  });
  app.openapi(startRoute, async (c) => {
    const taskId = parseId(c.req.param('task_id'));
    // Options first: a typo is fixed by calling start again, so it must not cost the upload.
    const body = await readBody(c);
    const start = parseStart(body);
    const callbackUrl = acceptCallbackUrl(body.callback_url, config);
    const tenant = c.get('tenant');
    const log = c.get('logger');
    const { createdAt, frames } = await startOneAtATime(taskId, () =>
      startVideo(tenant, taskId, start, callbackUrl, log),
    );
    c.header('Location', videoUrls(config.PUBLIC_BASE_URL, taskId).status);
    return c.json(acceptedVideo(config.PUBLIC_BASE_URL, taskId, createdAt, frames), 202);
  });

  /** The pending video upload the caller may start, or why not (404 / 409, as the photo start answers). */
  async function pendingUpload(tenant: Tenant, taskId: string): Promise<UploadRecord> {
    const upload = await access.upload(tenant, taskId);
    const existing = await records.tasks.read(taskId);
    if (existing) {
      if (!deps.tenants.canSee(tenant, existing.owner)) {
        throw new PhotoEnhanceError('NOT_FOUND', `No pending video upload for task ${taskId}`);
      }
      throw new PhotoEnhanceError('CONFLICT', `Task ${taskId} has already been started`, {
        details: { status: existing.status },
      });
    }
    if (!upload) throw new PhotoEnhanceError('NOT_FOUND', `No pending video upload for task ${taskId}`);
    if (upload.kind !== 'video') {
      throw new PhotoEnhanceError(
        'CONFLICT',
        `Task ${taskId} is a photo upload: start it at /api/v1/tasks/${taskId}/start`,
      );
    }
    return upload;
  }

  async function startVideo(
    tenant: Tenant,
    taskId: string,
    start: ReturnType<typeof parseStart>,
    callbackUrl: string | undefined,
    log: Logger,
  ): Promise<{ createdAt: string; frames: number }> {
    const upload = await pendingUpload(tenant, taskId);
    const object = await storage.head(upload.key);
    if (!object) {
      throw new PhotoEnhanceError('CONFLICT', 'The video has not been uploaded yet: PUT it to the upload URL first', {
        details: { expires_at: upload.expiresAt },
      });
    }
    let probe: Awaited<ReturnType<typeof probeVideo>>;
    try {
      if (object.bytes !== upload.bytes) {
        throw new PhotoEnhanceError(
          'INVALID_INPUT',
          `The stored file is ${object.bytes} bytes, not the ${upload.bytes} declared for the upload`,
          { details: { bytes: object.bytes, declared: upload.bytes } },
        );
      }
      // ffprobe reads the object by a presigned GET on the endpoint this API uses (never logged: the probe's
      // errors name it "input").
      const { url } = await storage.presignGet(upload.key, { expiresIn: PROBE_URL_SECONDS, internal: true });
      probe = await verifications.run(() => probeVideo(url, { bytes: object.bytes }));
      checkVideoLimits(probe, limits, start.options.scale);
    } catch (err) {
      if (isPhotoEnhanceError(err) && !err.retryable) {
        // The stored file can never start: remove it and the pending upload, nothing is left behind.
        metrics?.uploadsRejected.inc({ code: err.code });
        await Promise.allSettled([storage.delete(upload.key), records.uploads.delete(taskId)]);
        log.info({ code: err.code }, 'video direct upload refused');
      }
      throw err;
    }
    const claim = await claimUploadStart(storage, records, taskId);
    let createdAt: string;
    try {
      await submitter.reserve(tenant, [taskId]);
      try {
        ({ createdAt } = await submitVideo(
          { queue, tasks: records.tasks },
          {
            taskId,
            owner: tenant.owner,
            inputKey: upload.key,
            filename: upload.filename,
            bytes: object.bytes,
            probe,
            options: start.options,
            output: start.video.output,
            smoothFaces: start.video.smoothFaces,
            segmentFrames: config.VIDEO_SEGMENT_FRAMES,
            callbackUrl,
          },
        ));
      } catch (err) {
        // Jobs already sent find no record and are dropped by the workers; the upload can be started again.
        await Promise.allSettled([records.tasks.delete(taskId), submitter.release(tenant.owner, [taskId])]);
        throw err;
      }
    } catch (err) {
      await storage.delete(claim).catch(() => undefined);
      throw err;
    }
    await records.uploads.delete(taskId).catch((err: unknown) => {
      log.warn({ err }, 'pending upload record not deleted; the task record guards against a second start');
    });
    await storage.delete(claim).catch(() => undefined);
    metrics?.tasksCreated.inc();
    log.info({ taskId, bytes: object.bytes, frames: probe.frameCount }, 'video direct upload started');
    return { createdAt, frames: probe.frameCount };
  }

  return app;
}
