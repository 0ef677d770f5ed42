import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import {
  type DownloadLink,
  DownloadLinkSchema,
  isTerminalStatus,
  PhotoEnhanceError,
  type TaskDeleted,
  TaskDeletedSchema,
  TaskListResponseSchema,
  type TaskRecord,
  TaskStatusResponseSchema,
  taskUrls,
} from '@photoenhance/contracts';
import { keys, safeName } from '@photoenhance/core';
import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import { resolveDownloadMode } from '../../config.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import {
  bodyResponse,
  createRouter,
  errorResponses,
  flagQueryParam,
  jsonResponse,
  jsonSchema,
  taskIdParams,
} from '../../http/openapi.ts';
import { presentTask, presentTaskList } from '../../http/present.ts';
import { mapLimit } from '../batch/map-limit.ts';

/** GET /api/v1/tasks reads at most this many records (newest first once read), this many at a time. */
const MAX_LISTED_TASKS = 1000;
const LIST_READ_CONCURRENCY = 8;

const listRoute = createRoute({
  method: 'get',
  path: '/api/v1/tasks',
  summary: "The caller's own tasks (PhotoEnhanceAI's listing; needs API keys: a key sees the tasks it created)",
  responses: {
    200: jsonResponse('Tasks, newest first', TaskListResponseSchema),
    ...errorResponses({ 403: 'The service runs without API keys, so no caller has tasks of their own' }),
  },
});
const statusResponses = {
  200: jsonResponse('Task', TaskStatusResponseSchema),
  ...errorResponses({ 400: 'Malformed id', 404: 'Unknown task', 410: 'Past its retention (EXPIRED)' }),
};
const statusRoute = createRoute({
  method: 'get',
  path: '/api/v1/status/{task_id}',
  summary:
    'Task status: progress as a fraction 0–1 (percent 0–100), error as text (error_code), epoch-second times (*_at_iso), result',
  request: { params: taskIdParams },
  responses: statusResponses,
});
const taskRoute = createRoute({
  method: 'get',
  path: '/api/v1/tasks/{task_id}',
  summary: 'Same as /api/v1/status/{task_id}',
  request: { params: taskIdParams },
  responses: statusResponses,
});
const downloadRoute = createRoute({
  method: 'get',
  path: '/api/v1/download/{task_id}',
  summary:
    'Download the result: 200 with the file (streamed) by default; ?redirect=true for a 302 to a short-lived URL, ?redirect=false for that URL as JSON',
  request: { params: taskIdParams },
  // Described only: the handler reads it, and any other value means "the file" as before.
  parameters: [
    flagQueryParam('redirect', 'true: 302 to a presigned URL; false: the presigned URL as JSON; absent: the file'),
  ],
  responses: {
    200: bodyResponse('The file (default), or the JSON link for redirect=false', {
      'application/octet-stream': { type: 'string', format: 'binary' },
      'application/json': jsonSchema(DownloadLinkSchema, 'output'),
    }),
    302: { description: 'Redirect to a presigned object URL (redirect=true, or DOWNLOAD_MODE=redirect)' },
    ...errorResponses({ 400: 'Malformed id', 404: 'Unknown task', 409: 'Not completed yet', 410: 'Expired' }),
  },
});
const deleteRoute = createRoute({
  method: 'delete',
  path: '/api/v1/tasks/{task_id}',
  summary: 'Cancel a running task or delete a finished one (and its images)',
  request: { params: taskIdParams },
  responses: {
    200: jsonResponse(
      'Cancelled or deleted ({"message": …} as PhotoEnhanceAI, plus task_id and status)',
      TaskDeletedSchema,
    ),
    ...errorResponses({ 400: 'Malformed id', 404: 'Unknown task' }),
  },
});

/** Status, download and cancel/delete for one task; ids are validated (400) before any storage call. */
export function taskRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const { storage, records, access, submitter, config } = deps;
  const downloadMode = resolveDownloadMode(config);
  const app = createRouter();
  const statusCache = deps.taskStates;

  const status = async (c: Context<AppEnv>) => {
    const record = await access.task(c.get('tenant'), c.req.param('task_id') ?? '');
    return presentTask(record, taskUrls(config.PUBLIC_BASE_URL, record.taskId).download, access.expiresAt(record));
  };
  /**
   * The caller's own tasks (PhotoEnhanceAI's debugging listing, scoped): only with API keys, where each key is
   * a caller; without keys there is no caller to scope to, and listing everyone's task ids would hand out
   * everyone's photos, so it is refused.
   */
  app.openapi(listRoute, async (c) => {
    const owner = c.get('tenant').owner;
    if (!owner) {
      throw new PhotoEnhanceError(
        'FORBIDDEN',
        'Listing tasks needs API keys (API_KEYS): each key lists the tasks it created. This service runs without keys.',
      );
    }
    const ids = await records.tasks.listOwned(owner, MAX_LISTED_TASKS);
    const found = await mapLimit(ids, LIST_READ_CONCURRENCY, (id) => statusCache.read(id));
    c.header('Cache-Control', 'no-store');
    return c.json(presentTaskList(found.filter((r): r is TaskRecord => r !== null && r.owner === owner)));
  });

  app.openapi(statusRoute, async (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(await status(c));
  });
  app.openapi(taskRoute, async (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(await status(c));
  });

  app.openapi(downloadRoute, async (c) => {
    const record = await access.task(c.get('tenant'), c.req.param('task_id'), { fresh: true });
    c.get('logger').debug({ taskId: record.taskId, status: record.status }, 'download requested');
    if (record.status !== 'completed' || !record.result) {
      throw new PhotoEnhanceError(
        'CONFLICT',
        `Task is ${record.status}; the result can be downloaded once it is completed`,
        {
          details: { status: record.status, progress: record.progress },
        },
      );
    }
    const { key } = record.result;
    // Checked again here: the name becomes a header (Content-Disposition), whoever wrote the record.
    const filename = safeName(record.result.filename, 'result');
    c.header('Cache-Control', 'no-store');
    // The file itself by default (PhotoEnhanceAI's clients expect 200 and do not follow redirects); the
    // presigned link on request: ?redirect=false as JSON, ?redirect=true (or DOWNLOAD_MODE=redirect) as a 302.
    const redirect = c.req.query('redirect');
    if (redirect === 'false') {
      const link = await storage.presignGet(key, { filename });
      const body: DownloadLink = { url: link.url, expires_at: link.expiresAt.toISOString(), filename };
      return c.json(body);
    }
    if (redirect === 'true' || downloadMode === 'redirect') {
      const link = await storage.presignGet(key, { filename });
      return c.redirect(link.url, 302);
    }
    // Streamed from storage chunk by chunk, never held whole.
    const object = await storage.getStream(key);
    c.header('Content-Type', object.contentType ?? 'application/octet-stream');
    if (object.bytes !== undefined) c.header('Content-Length', String(object.bytes));
    c.header('Content-Disposition', `attachment; filename="${filename}"`);
    return stream(c, async (out) => {
      for await (const chunk of object.body) await out.write(chunk as Uint8Array);
    });
  });

  /**
   * Cancel a running task (cancel marker + record `cancelled` while still queued) or delete a finished one;
   * either way its images are removed. The marker is authoritative because the worker owns the record once
   * it has claimed the task (see TaskRecordSchema).
   */
  app.openapi(deleteRoute, async (c) => {
    // An expired task can still be deleted at once (its owner need not wait for the sweeper).
    const record = await access.task(c.get('tenant'), c.req.param('task_id'), { fresh: true, allowExpired: true });
    const { taskId } = record;
    statusCache.forget(taskId);
    const log = c.get('logger');
    let body: TaskDeleted;
    if (isTerminalStatus(record.status)) {
      await Promise.all([
        storage.deletePrefix(keys.inputPrefix(taskId)),
        storage.deletePrefix(keys.outputPrefix(taskId)),
      ]);
      await records.tasks.delete(taskId);
      body = { message: 'Task and its images deleted', task_id: taskId, status: 'deleted' };
    } else {
      // Marker + If-Match record write (records/tasks.ts requestCancel): the worker learns of it from its own
      // next conditional write, with no marker read per task on stores that enforce conditions.
      await records.tasks.requestCancel(taskId, { reason: 'cancelled by client' });
      await Promise.all([
        storage.deletePrefix(keys.inputPrefix(taskId)),
        storage.deletePrefix(keys.outputPrefix(taskId)),
      ]);
      body = { message: 'Task cancelled and its images deleted', task_id: taskId, status: 'cancelled' };
    }
    await submitter.release(record.owner, [taskId]);
    // Viewers of this task on this instance see the cancel (or the deletion) now, not at the next safety-net read.
    deps.taskChanges?.publish({ taskId });
    log.info({ taskId, outcome: body.status }, 'task deleted');
    return c.json(body);
  });

  return app;
}
