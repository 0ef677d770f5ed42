import {
  type DownloadLink,
  isTerminalStatus,
  PhotoEnhanceError,
  type TaskDeleted,
  type TaskRecord,
  taskUrls,
} from '@photoenhance/contracts';
import { keys, safeName } from '@photoenhance/core';
import { type Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import { resolveDownloadMode } from '../../config.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { presentTask, presentTaskList } from '../../http/present.ts';
import { mapLimit } from '../batch/map-limit.ts';

/** GET /api/v1/tasks reads at most this many records (newest first once read), this many at a time. */
const MAX_LISTED_TASKS = 1000;
const LIST_READ_CONCURRENCY = 8;

/** Status, download and cancel/delete for one task; ids are validated (400) before any storage call. */
export function taskRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { storage, records, access, submitter, config } = deps;
  const downloadMode = resolveDownloadMode(config);
  const app = new Hono<AppEnv>();
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
  app.get('/api/v1/tasks', async (c) => {
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

  app.get('/api/v1/status/:task_id', async (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(await status(c));
  });
  app.get('/api/v1/tasks/:task_id', async (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(await status(c));
  });

  app.get('/api/v1/download/:task_id', async (c) => {
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
  app.delete('/api/v1/tasks/:task_id', async (c) => {
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
      const marker = await records.tasks.writeCancelMarker(taskId, 'cancelled by client');
      const raw = await records.tasks.read(taskId);
      if (raw?.status === 'queued') {
        // No worker has claimed it yet; the marker still wins should one claim it right now.
        await records.tasks.write({
          ...raw,
          status: 'cancelled',
          stage: 'cancelled',
          message: 'Task cancelled',
          cancelRequested: true,
          updatedAt: marker.requestedAt,
          completedAt: marker.requestedAt,
        });
      }
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
