import { Hono } from 'hono';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { prefersHtml, webPage } from '../web/web.ts';

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

/** GET / (service info), /health (process is up), /ready (S3 and SQS answer), /metrics. */
export function serviceRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { storage, queue, config, metrics } = deps;
  const app = new Hono<AppEnv>();
  const startedAt = Date.now();

  // Browsers get the web app; API clients (curl, fetch, SDKs) keep the JSON service info.
  app.get('/', (c) => {
    if (prefersHtml(c.req.header('accept'))) return webPage(c);
    c.header('Vary', 'Accept');
    return c.json({
      service: 'PhotoEnhance API',
      description: 'AI portrait enhancement: GFPGAN-family face restoration + tiled Real-ESRGAN super-resolution',
      version: '0.1.0',
      endpoints: {
        enhance:
          'POST /api/v1/enhance (multipart: file, tile_size, quality_level, scale, precision, face, face_model, only_center_face, face_blend, output_format, output_quality, keep_metadata)',
        status: 'GET /api/v1/status/{task_id}',
        download: 'GET /api/v1/download/{task_id}',
        delete: 'DELETE /api/v1/tasks/{task_id}',
        health: 'GET /health',
        ready: 'GET /ready',
        models: 'GET /api/v1/models',
        web_app: 'GET / with Accept: text/html (a browser)',
        docs: 'GET /docs',
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
    });
  });

  app.get('/health', (c) => c.json({ status: 'ok', uptime_seconds: Math.round((Date.now() - startedAt) / 1000) }));

  app.get('/ready', async (c) => {
    const [storageCheck, queueCheck] = await Promise.all([check(() => storage.ping()), check(() => queue.ping())]);
    const ready = storageCheck === 'ok' && queueCheck === 'ok';
    return c.json(
      { status: ready ? 'ready' : 'not_ready', checks: { storage: storageCheck, queue: queueCheck } },
      ready ? 200 : 503,
    );
  });

  if (metrics) {
    app.get('/metrics', async (c) => {
      c.header('Content-Type', metrics.registry.contentType);
      return c.body(await metrics.registry.metrics());
    });
  }
  return app;
}
