import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import {
  EnhanceAcceptedSchema,
  isPhotoEnhanceError,
  isTerminalStatus,
  newId,
  PhotoEnhanceError,
  parseId,
  type TaskDeleted,
  TaskDeletedSchema,
  VIDEO_FORM_FIELDS,
  VideoFormSchema,
  VideoStatusResponseSchema,
  videoOutputFromForm,
} from '@photoenhance/contracts';
import { createSegmentRepository, keys, safeName } from '@photoenhance/core';
import { checkVideoLimits, probeVideo } from '@photoenhance/video';
import { acceptCallbackUrl } from '../../callbacks/callback-field.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { fromZodError } from '../../http/errors.ts';
import {
  createRouter,
  enhanceFormProperties,
  errorResponses,
  jsonResponse,
  jsonSchema,
  multipartBody,
  taskIdParams,
} from '../../http/openapi.ts';
import { bodyTooLarge, declaredBodyLimit, requireMultipart } from '../../http/request.ts';
import { readMultipart } from '../../upload/multipart.ts';
import { parseEnhanceFields } from '../../upload/validate-upload.ts';
import { presentVideo } from './present-video.ts';
import { receiveVideoFile } from './receive-video.ts';
import { submitVideo } from './submit-video.ts';
import { acceptedVideo, videoLimits, videoUrls } from './video-request.ts';

const MULTIPART_OVERHEAD = 64 * 1024;
const FILE_FIELD = new Set(['file']);

function parseVideoFields(fields: Record<string, string>) {
  const picked: Record<string, string> = {};
  for (const name of VIDEO_FORM_FIELDS) if (fields[name] !== undefined) picked[name] = fields[name];
  const parsed = VideoFormSchema.safeParse(picked);
  if (!parsed.success) throw fromZodError(parsed.error);
  return videoOutputFromForm(parsed.data);
}

const statusRoute = createRoute({
  method: 'get',
  path: '/api/v1/videos/{task_id}',
  summary: "A video task's state: progress in frames, an ETA, the result once done",
  request: { params: taskIdParams },
  responses: {
    200: jsonResponse('Video task', VideoStatusResponseSchema),
    ...errorResponses({ 400: 'Malformed id', 404: 'No such video task' }),
  },
});
const deleteRoute = createRoute({
  method: 'delete',
  path: '/api/v1/videos/{task_id}',
  summary: 'Cancel a running video task or delete a finished one (clip, result and segments removed)',
  request: { params: taskIdParams },
  responses: {
    200: jsonResponse('Cancelled or deleted', TaskDeletedSchema),
    ...errorResponses({ 400: 'Malformed id', 404: 'No such video task' }),
  },
});

/**
 * Videos: POST /api/v1/videos (multipart `file` + the photo options + video_crf / video_preset / video_codec /
 * smooth_faces), GET and DELETE /api/v1/videos/{id}. The API never decodes a frame: the upload goes to a
 * scratch file (bounded by VIDEO_MAX_UPLOAD_BYTES), ffprobe scans its packets, the limits are checked, and only
 * then is it stored and split into segment jobs. Events and download are the photo routes
 * (/api/v1/tasks/{id}/events, /api/v1/download/{id}): a video task is a task record with `video` fields.
 */
export function videoRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const { storage, records, queue, config, metrics, access, submitter } = deps;
  const app = createRouter();
  const maxBytes = config.VIDEO_MAX_UPLOAD_BYTES;
  const tooLarge = () => bodyTooLarge(maxBytes, 'video', 'maxFileBytes');
  const limits = videoLimits(config);

  const submitRoute = createRoute({
    method: 'post',
    path: '/api/v1/videos',
    summary: 'Queue a video: its frames are enhanced like photos, in segments spread over the workers',
    middleware: [declaredBodyLimit(maxBytes + MULTIPART_OVERHEAD, tooLarge)] as const,
    request: {
      body: multipartBody(
        'file',
        { type: 'string', format: 'binary', description: `Video, at most ${maxBytes} bytes` },
        { ...enhanceFormProperties(), ...jsonSchema(VideoFormSchema, 'input').properties },
      ),
    },
    responses: {
      202: jsonResponse('Queued; poll status_url or follow events_url', EnhanceAcceptedSchema),
      ...errorResponses({
        400: 'Missing file or invalid option (INVALID_INPUT, INVALID_OPTIONS)',
        413: 'Upload over VIDEO_MAX_UPLOAD_BYTES',
        415: 'Not a supported video',
        422: 'Over the duration, frame or pixel limits, or unreadable',
        503: 'Storage or queue unavailable (retry)',
      }),
    },
  });
  app.openapi(submitRoute, async (c) => {
    const log = c.get('logger');
    requireMultipart(c, 'file', 'the video');
    // A video is a task of its caller like a photo: over the active-task quota it is refused before the body is read.
    const tenant = c.get('tenant');
    await submitter.precheck(tenant);
    const taskId = newId();
    const dir = await mkdtemp(join(tmpdir(), 'pe-video-upload-'));
    try {
      const form = await readMultipart(c, {
        fileFields: FILE_FIELD,
        maxFiles: 1,
        maxBodyBytes: maxBytes + MULTIPART_OVERHEAD,
        tooLarge,
        fatal: () => true,
        onFile: async ({ filename, stream }) => {
          const name = safeName(filename, 'video');
          const path = join(dir, 'upload');
          const bytes = await receiveVideoFile(stream, path, maxBytes);
          return { name, path, bytes };
        },
      });
      let accepted: {
        upload: { name: string; path: string; bytes: number };
        probe: Awaited<ReturnType<typeof probeVideo>>;
        options: ReturnType<typeof parseEnhanceFields>;
        video: ReturnType<typeof parseVideoFields>;
        callbackUrl: string | undefined;
      };
      try {
        const callbackUrl = acceptCallbackUrl(form.fields.callback_url, config);
        const options = parseEnhanceFields(form.fields);
        const video = parseVideoFields(form.fields);
        if (form.error) throw form.error;
        const part = form.files[0];
        if (!part) {
          throw new PhotoEnhanceError('INVALID_INPUT', 'Send the video as the multipart field "file"', {
            details: { field: 'file' },
          });
        }
        if (part.result.status === 'rejected') throw part.result.reason;
        const upload = part.result.value;
        const probe = await probeVideo(upload.path);
        checkVideoLimits(probe, limits, options.scale);
        accepted = { upload, probe, options, video, callbackUrl };
      } catch (err) {
        if (isPhotoEnhanceError(err) && err.status < 500) metrics?.uploadsRejected.inc({ code: err.code });
        throw err;
      }

      const { upload, probe, options, video, callbackUrl } = accepted;
      const inputKey = keys.input(taskId, upload.name);
      // Counted like a photo task until it ends (the marker is pruned once the record is finished); the
      // precheck above only spared reading the body of a caller already at the limit.
      await submitter.reserve(tenant, [taskId]);
      let createdAt: string;
      try {
        await storage.upload(inputKey, createReadStream(upload.path), {
          contentType: probe.container.includes('matroska') ? 'video/x-matroska' : 'video/mp4',
        });
        ({ createdAt } = await submitVideo(
          { queue, tasks: records.tasks },
          {
            taskId,
            owner: tenant.owner,
            inputKey,
            filename: upload.name,
            bytes: upload.bytes,
            probe,
            options,
            output: video.output,
            smoothFaces: video.smoothFaces,
            segmentFrames: config.VIDEO_SEGMENT_FRAMES,
            callbackUrl,
          },
        ));
      } catch (err) {
        await Promise.allSettled([
          storage.deletePrefix(keys.inputPrefix(taskId)),
          records.tasks.delete(taskId),
          submitter.release(tenant.owner, [taskId]),
        ]);
        throw err;
      }
      metrics?.tasksCreated.inc();
      log.info({ taskId, bytes: upload.bytes, frames: probe.frameCount, scale: options.scale }, 'video queued');
      c.header('Location', videoUrls(config.PUBLIC_BASE_URL, taskId).status);
      return c.json(acceptedVideo(config.PUBLIC_BASE_URL, taskId, createdAt, probe.frameCount), 202);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Owner and retention checks as for photos: another tenant's video is a 404 like an unknown id.
  app.openapi(statusRoute, async (c) => {
    const taskId = parseId(c.req.param('task_id'));
    const record = await access.task(c.get('tenant'), taskId);
    if (!record.video) throw new PhotoEnhanceError('NOT_FOUND', `No video task ${taskId}`);
    c.header('Cache-Control', 'no-store');
    return c.json(presentVideo(record, videoUrls(config.PUBLIC_BASE_URL, taskId)));
  });

  /** Cancel (segments stop at their next cancel check) or delete; the clip, result and segments are removed. */
  app.openapi(deleteRoute, async (c) => {
    const taskId = parseId(c.req.param('task_id'));
    const record = await access.task(c.get('tenant'), taskId, { fresh: true, allowExpired: true });
    if (!record.video) throw new PhotoEnhanceError('NOT_FOUND', `No video task ${taskId}`);
    deps.taskStates.forget(taskId);
    const removeFiles = () =>
      Promise.all([
        storage.deletePrefix(keys.inputPrefix(taskId)),
        storage.deletePrefix(keys.outputPrefix(taskId)),
        createSegmentRepository(storage).deleteAll(taskId),
      ]);
    let body: TaskDeleted;
    if (isTerminalStatus(record.status)) {
      await removeFiles();
      await records.tasks.delete(taskId);
      body = { task_id: taskId, status: 'deleted', message: 'Video task and its files deleted' };
    } else {
      await records.tasks.writeCancelMarker(taskId, 'cancelled by client');
      await removeFiles();
      body = { task_id: taskId, status: 'cancelled', message: 'Video task cancelled and its files deleted' };
    }
    await submitter.release(record.owner, [taskId]);
    c.get('logger').info({ taskId, outcome: body.status }, 'video task deleted');
    return c.json(body);
  });

  return app;
}
