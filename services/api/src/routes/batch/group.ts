import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { newId, PhotoEnhanceError, TaskIdSchema } from '@photoenhance/contracts';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { fromZodError } from '../../http/errors.ts';
import { createRouter, describedJsonBody, errorResponses, jsonResponse } from '../../http/openapi.ts';
import { mapLimit } from './map-limit.ts';
import { batchUrls } from './urls.ts';

/** Tasks one grouping may name (a record of ids; the ZIP streams however many there are). */
export const MAX_GROUPED_TASKS = 500;
const MAX_BODY_BYTES = 64 * 1024;

/** POST /api/v1/batches: existing tasks (each uploaded on its own, as the web app does) made one batch. */
export const BatchGroupRequestSchema = z.object({
  task_ids: z
    .array(TaskIdSchema)
    .min(1)
    .max(MAX_GROUPED_TASKS)
    .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a task id'),
});

export const BatchGroupedSchema = z.object({
  batch_id: z.string(),
  task_ids: z.array(z.string()),
  status_url: z.string(),
  events_url: z.string(),
  download_url: z.string(),
});
export type BatchGrouped = z.infer<typeof BatchGroupedSchema>;

/**
 * Groups tasks that were queued one by one into a batch record, so the batch status, events and ZIP routes
 * work for them: a client can stream photos in as they are picked and still offer "download all".
 */
export function batchGroupRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const { records, access, config } = deps;
  const app = createRouter();
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new PhotoEnhanceError('INVALID_INPUT', `The request body is larger than ${MAX_BODY_BYTES} bytes`);
    },
  });

  const route = createRoute({
    method: 'post',
    path: '/api/v1/batches',
    summary: 'Group tasks queued one by one into a batch (batch status, events and ZIP then work for them)',
    middleware: [limit] as const,
    request: { body: describedJsonBody(BatchGroupRequestSchema) },
    responses: {
      201: jsonResponse('Batch created', BatchGroupedSchema),
      ...errorResponses({ 400: 'Not {"task_ids": [...]} with 1–500 distinct ids', 404: 'A task does not exist' }),
    },
  });
  app.openapi(route, async (c) => {
    let json: unknown;
    try {
      json = await c.req.json();
    } catch (cause) {
      throw new PhotoEnhanceError('INVALID_INPUT', 'The request body must be JSON: {"task_ids": [...]}', { cause });
    }
    const parsed = BatchGroupRequestSchema.safeParse(json);
    if (!parsed.success) throw fromZodError(parsed.error);
    const ids = parsed.data.task_ids;
    // Another tenant's task (or an expired one) is as unknown as a missing one.
    const tenant = c.get('tenant');
    const found = await mapLimit(
      ids,
      8,
      async (id) => (await access.visibleTask(tenant, id, { fresh: true })) !== null,
    );
    const unknown = ids.filter((_, i) => !found[i]);
    if (unknown.length > 0) {
      throw new PhotoEnhanceError('NOT_FOUND', `No task ${unknown.join(', ')}`, { details: { task_ids: unknown } });
    }
    const batchId = newId();
    const owner = tenant.owner;
    await records.batches.write({
      batchId,
      ...(owner ? { owner } : {}),
      taskIds: ids,
      createdAt: new Date().toISOString(),
    });
    const urls = batchUrls(config.PUBLIC_BASE_URL, batchId);
    const body: BatchGrouped = {
      batch_id: batchId,
      task_ids: ids,
      status_url: urls.status,
      events_url: urls.events,
      download_url: urls.download,
    };
    c.header('Location', urls.status);
    return c.json(body, 201);
  });
  return app;
}
