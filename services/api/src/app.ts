import { PhotoEnhanceError } from '@photoenhance/contracts';
import { createRecords } from '@photoenhance/core';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { routePath } from 'hono/route';
import { clientKeyAuth } from './auth/api-keys.ts';
import type { AppDeps, AppEnv, RouteDeps } from './http/env.ts';
import { errorResponse } from './http/errors.ts';
import { createTaskStateCache } from './http/task-state-cache.ts';
import { batchRoutes } from './routes/batch/batch.ts';
import { batchGroupRoutes } from './routes/batch/group.ts';
import { docsRoutes } from './routes/docs/docs.ts';
import { enhanceRoutes } from './routes/enhance/enhance.ts';
import { eventRoutes } from './routes/events/events.ts';
import { serviceRoutes } from './routes/service/service.ts';
import { taskRoutes } from './routes/tasks/tasks.ts';
import { uploadRoutes } from './routes/uploads/uploads.ts';
import { videoRoutes } from './routes/videos/videos.ts';
import { webRoutes } from './routes/web/web.ts';
import { workerRoutes } from './routes/workers/workers.ts';

const QUIET_PATHS = new Set(['/health', '/ready', '/metrics']);

/** The HTTP API. Everything it touches comes in through `deps`, so tests run it against a real fauxqs. */
export function createApp(appDeps: AppDeps): Hono<AppEnv> {
  const records = appDeps.records ?? createRecords(appDeps.storage);
  const deps: RouteDeps = {
    ...appDeps,
    records,
    taskStates: appDeps.taskStates ?? createTaskStateCache(records.tasks, appDeps.config.STATUS_CACHE_MS),
  };
  const { config, logger, metrics } = deps;
  const app = new Hono<AppEnv>();

  const origins = config.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  app.use(
    '*',
    cors({
      origin: origins.includes('*') ? '*' : origins,
      allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      exposeHeaders: ['Location', 'Content-Disposition', 'X-Request-Id'],
      maxAge: 600,
    }),
  );
  app.use('*', requestId());
  app.use('*', async (c, next) => {
    const log = logger.child({ reqId: c.get('requestId') });
    c.set('logger', log);
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routePath(c) || 'unmatched';
    metrics?.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    metrics?.httpDuration.observe({ method: c.req.method, route }, seconds);
    const line = { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(seconds * 1000) };
    if (QUIET_PATHS.has(c.req.path)) log.debug(line, 'request');
    else log.info(line, 'request');
  });

  app.use('/api/v1/*', clientKeyAuth(config));
  metrics?.bindQueue(deps.queue);
  app.route('/', serviceRoutes(deps));
  app.route('/', enhanceRoutes(deps));
  app.route('/', taskRoutes(deps));
  app.route('/', batchRoutes(deps));
  app.route('/', batchGroupRoutes(deps));
  app.route('/', eventRoutes(deps));
  app.route('/', uploadRoutes(deps));
  app.route('/', videoRoutes(deps));
  app.route('/', workerRoutes(deps));
  app.route('/', docsRoutes(deps));
  app.route('/', webRoutes());

  app.notFound((c) =>
    errorResponse(c, new PhotoEnhanceError('NOT_FOUND', `No route ${c.req.method} ${c.req.path}`), logger),
  );
  app.onError((err, c) => errorResponse(c, err, logger));
  return app;
}
