import type { OpenAPIHono } from '@hono/zod-openapi';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { createRecords } from '@photoenhance/core';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { routePath } from 'hono/route';
import { adminKeyAuth, clientKeyAuth, isWorkerRoute } from './auth/api-keys.ts';
import { createStreamTokens, streamTokenSecret } from './auth/stream-tokens.ts';
import { createTenantDirectory } from './auth/tenants.ts';
import type { AppDeps, AppEnv, RouteDeps } from './http/env.ts';
import { errorResponse } from './http/errors.ts';
import { createRouter } from './http/openapi.ts';
import { rateLimit } from './http/rate-limit.ts';
import { securityHeaders } from './http/security-headers.ts';
import { createSemaphore } from './http/semaphore.ts';
import { createTaskStateCache } from './http/task-state-cache.ts';
import { createTaskWatchHub } from './progress/task-watch-hub.ts';
import { batchRoutes } from './routes/batch/batch.ts';
import { batchGroupRoutes } from './routes/batch/group.ts';
import { docsRoutes } from './routes/docs/docs.ts';
import { buildOpenApiDocument } from './routes/docs/document.ts';
import { enhanceRoutes } from './routes/enhance/enhance.ts';
import { eventRoutes } from './routes/events/events.ts';
import { serviceRoutes } from './routes/service/service.ts';
import { taskRoutes } from './routes/tasks/tasks.ts';
import { uploadRoutes } from './routes/uploads/uploads.ts';
import { videoUploadRoutes } from './routes/videos/video-uploads.ts';
import { videoRoutes } from './routes/videos/videos.ts';
import { webRoutes } from './routes/web/web.ts';
import { workerRoutes } from './routes/workers/workers.ts';
import { createTaskAccess } from './tasks/access.ts';
import { createActiveTaskQuota } from './tasks/active-quota.ts';
import { createTaskSubmitter } from './tasks/submit.ts';

const QUIET_PATHS = new Set(['/health', '/ready', '/metrics']);

/** The HTTP API. Everything it touches comes in through `deps`, so tests run it against a real fauxqs. */
export function createApp(appDeps: AppDeps): OpenAPIHono<AppEnv> {
  const records = appDeps.records ?? createRecords(appDeps.storage);
  const taskStates = appDeps.taskStates ?? createTaskStateCache(records.tasks, appDeps.config.STATUS_CACHE_MS);
  const tenants = createTenantDirectory(appDeps.config);
  const quota = createActiveTaskQuota({ records, limit: appDeps.config.MAX_ACTIVE_TASKS_PER_KEY });
  const deps: RouteDeps = {
    ...appDeps,
    records,
    taskStates,
    tenants,
    access: createTaskAccess({ records, taskStates, tenants, retentionHours: appDeps.config.RETENTION_HOURS }),
    submitter: createTaskSubmitter({ storage: appDeps.storage, records, queue: appDeps.queue, quota }),
    taskWatch:
      appDeps.taskWatch ??
      createTaskWatchHub({
        tasks: records.tasks,
        pollMs: appDeps.config.SSE_POLL_MS,
        fallbackPollMs: appDeps.config.SSE_FALLBACK_POLL_MS,
        channel: appDeps.taskChanges,
        logger: appDeps.logger,
      }),
    streamTokens:
      appDeps.streamTokens ??
      createStreamTokens({
        secret: streamTokenSecret(appDeps.config),
        ttlSeconds: appDeps.config.STREAM_TOKEN_TTL_SECONDS,
      }),
    verifications: createSemaphore(
      appDeps.config.MAX_CONCURRENT_VERIFICATIONS,
      'MAX_CONCURRENT_VERIFICATIONS',
      'uploads being read back for checks on this server',
    ),
  };
  const { config, logger, metrics } = deps;
  // Routes register their OpenAPI description with them (app.openapi); route() gathers them into this app.
  const app = createRouter();

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
  app.use('*', securityHeaders(config));
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

  // Worker registration is HMAC-signed and paced by the workers themselves; everything else under /api/v1 counts.
  app.use('/api/v1/*', rateLimit(tenants, config.RATE_LIMIT_PER_MINUTE, { skip: (c) => isWorkerRoute(c.req.path) }));
  app.use('/api/v1/*', clientKeyAuth(tenants, deps.streamTokens));
  // Operator route: with client keys configured, metrics (queue depths, worker counts) are for the admin key only.
  app.use('/metrics', async (c, next) => (tenants.keysRequired ? adminKeyAuth(config, tenants)(c, next) : next()));
  metrics?.bindQueue(deps.queue);
  app.route('/', serviceRoutes(deps));
  app.route('/', enhanceRoutes(deps));
  app.route('/', taskRoutes(deps));
  app.route('/', batchRoutes(deps));
  app.route('/', batchGroupRoutes(deps));
  app.route('/', eventRoutes(deps));
  app.route('/', uploadRoutes(deps));
  app.route('/', videoUploadRoutes(deps));
  app.route('/', videoRoutes(deps));
  app.route('/', workerRoutes(deps));
  app.route(
    '/',
    docsRoutes(() => buildOpenApiDocument(app, { apiKeysRequired: config.API_KEYS.length > 0 })),
  );
  app.route('/', webRoutes());

  app.notFound((c) =>
    errorResponse(c, new PhotoEnhanceError('NOT_FOUND', `No route ${c.req.method} ${c.req.path}`), logger),
  );
  app.onError((err, c) => errorResponse(c, err, logger));
  return app;
}
