import {
  type DownloadLink,
  isTerminalStatus,
  PhotoEnhanceError,
  type TaskDeleted,
  taskUrls,
} from '@photoenhance/contracts';
import { keys } from '@photoenhance/core';
import { type Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import { resolveDownloadMode } from '../../config.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { presentTask } from '../../http/present.ts';

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
    const { key, filename } = record.result;
    c.header('Cache-Control', 'no-store');
    if (c.req.query('redirect') === 'false') {
      const link = await storage.presignGet(key, { filename });
      const body: DownloadLink = { url: link.url, expires_at: link.expiresAt.toISOString(), filename };
      return c.json(body);
    }
    if (downloadMode === 'redirect') {
      const link = await storage.presignGet(key, { filename });
      return c.redirect(link.url, 302);
    }
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
      body = { task_id: taskId, status: 'deleted', message: 'Task and its images deleted' };
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
      body = { task_id: taskId, status: 'cancelled', message: 'Task cancelled and its images deleted' };
    }
    await submitter.release(record.owner, [taskId]);
    log.info({ taskId, outcome: body.status }, 'task deleted');
    return c.json(body);
  });

  return app;
}
