import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import {
  type HealthResponse,
  HealthResponseSchema,
  type ServiceInfo,
  ServiceInfoSchema,
} from '@photoenhance/contracts';
import { z } from 'zod';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { bodyResponse, createRouter, jsonResponse } from '../../http/openapi.ts';
import { prefersHtml, webPage } from '../web/web.ts';
import { createWorkerRegistry } from '../workers/registry.ts';
import { cachedRead, modelStatus } from './health.ts';

const SERVICE_VERSION = '0.1.0';

/** /ready answers within this long even when a dependency hangs, naming the one that does. */
const READY_TIMEOUT_MS = 1500;

async function check(run: () => Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (err) {
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    clearTimeout(timer);
  }
}

const infoRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Service information (JSON), or the web app for a browser (Accept: text/html)',
  responses: {
    200: {
      description:
        "Service info (PhotoEnhanceAI's service, version, status, endpoints; plus limits); the web app page when text/html is preferred",
      content: { 'application/json': { schema: ServiceInfoSchema }, 'text/html': { schema: z.string() } },
    },
  },
});
const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  summary: "Process is up: PhotoEnhanceAI's body (status healthy, timestamp, active_tasks, model_status)",
  responses: { 200: jsonResponse('Healthy', HealthResponseSchema) },
});
const readyRoute = createRoute({
  method: 'get',
  path: '/ready',
  summary: 'S3 and SQS reachable',
  responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready' } },
});
const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics (text exposition format)',
  responses: { 200: bodyResponse('Metrics', 'text/plain') },
});

/** GET / (service info), /health (process is up, PhotoEnhanceAI's body), /ready (S3 and SQS answer), /metrics. */
export function serviceRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const { storage, queue, config, metrics, records } = deps;
  const app = createRouter();
  const startedAt = Date.now();

  // Browsers get the web app; API clients (curl, fetch, SDKs, PhotoEnhanceAI's clients) get the JSON service info.
  app.openapi(infoRoute, (c) => {
    c.header('Vary', 'Accept');
    if (prefersHtml(c.req.header('accept'))) return webPage(c);
    const body: ServiceInfo = {
      service: 'PhotoEnhance API',
      version: SERVICE_VERSION,
      status: 'running',
      description: 'AI portrait enhancement: GFPGAN-family face restoration + tiled Real-ESRGAN super-resolution',
      endpoints: {
        docs: '/docs',
        health: '/health',
        enhance:
          'POST /api/v1/enhance (multipart: file, tile_size, quality_level, scale, precision, face, face_model, only_center_face, face_blend, output_format, output_quality, keep_metadata; tile_size and quality_level also as query parameters)',
        enhance_batch: 'POST /api/v1/enhance/batch (multipart: files + the same options)',
        status: 'GET /api/v1/status/{task_id}',
        batch_status: 'GET /api/v1/batch/status/{batch_task_id}',
        download: 'GET /api/v1/download/{task_id}',
        batch_download: 'GET /api/v1/batch/download/{batch_task_id}',
        tasks: 'GET /api/v1/tasks (your own tasks; needs API keys)',
        delete: 'DELETE /api/v1/tasks/{task_id}',
        events: 'GET /api/v1/tasks/{task_id}/events (Server-Sent Events)',
        ready: 'GET /ready',
        models: 'GET /api/v1/models',
        web_app: 'GET / with Accept: text/html (a browser)',
        openapi: 'GET /openapi.json',
        metrics: 'GET /metrics',
        workers: 'GET /api/v1/workers (admin key); POST /api/v1/workers/{register,heartbeat,deregister} (HMAC-signed)',
      },
      limits: {
        max_upload_bytes: config.MAX_UPLOAD_BYTES,
        max_input_pixels: config.MAX_INPUT_PIXELS,
        max_output_pixels: config.MAX_OUTPUT_PIXELS,
        scale: { min: 1, max: 16 },
        direct_upload_max_bytes: config.DIRECT_UPLOAD_MAX_BYTES,
      },
    };
    return c.json(body);
  });

  // PhotoEnhanceAI's health body. Liveness: always 200 and quick; queue and registry reads are cached and
  // bounded (cachedRead), falling back to "nothing known" (0 active, no worker) while a dependency is down.
  const registry = createWorkerRegistry({
    workers: records.workers,
    staleAfterMs: config.WORKER_STALE_AFTER_SECONDS * 1000,
    forgetAfterMs: config.WORKER_FORGET_AFTER_SECONDS * 1000,
  });
  const health = { maxAgeMs: 2000, waitMs: 250 };
  const inFlightJobs = cachedRead(async () => (await queue.depth()).inFlight, 0, health);
  const aliveWorkers = cachedRead(
    async () => (await registry.list()).workers.filter((w) => w.status === 'alive'),
    [],
    health,
  );
  app.openapi(healthRoute, async (c) => {
    const [active, alive] = await Promise.all([inFlightJobs(), aliveWorkers()]);
    const body: HealthResponse = {
      status: 'healthy',
      timestamp: Date.now() / 1000,
      active_tasks: active,
      model_status: modelStatus(alive),
      uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
    };
    c.header('Cache-Control', 'no-store');
    return c.json(body);
  });

  app.openapi(readyRoute, async (c) => {
    const [storageCheck, queueCheck] = await Promise.all([check(() => storage.ping()), check(() => queue.ping())]);
    const ready = storageCheck === 'ok' && queueCheck === 'ok';
    return c.json(
      { status: ready ? 'ready' : 'not_ready', checks: { storage: storageCheck, queue: queueCheck } },
      ready ? 200 : 503,
    );
  });

  if (metrics) {
    app.openapi(metricsRoute, async (c) => {
      c.header('Content-Type', metrics.registry.contentType);
      return c.body(await metrics.registry.metrics());
    });
  }
  return app;
}
