import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { PhotoEnhanceError, WorkerAnnouncementSchema, type WorkerEvent } from '@photoenhance/contracts';
import {
  createReplayGuard,
  DEFAULT_TOLERANCE_SECONDS,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifySignature,
} from '@photoenhance/core';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { adminKeyAuth } from '../../auth/api-keys.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { fromZodError } from '../../http/errors.ts';
import { createRouter, describedJsonBody, errorResponses, jsonResponse } from '../../http/openapi.ts';
import { mergeModels } from './models.ts';
import { createWorkerRegistry } from './registry.ts';
import {
  type ModelListResponse,
  ModelListResponseSchema,
  type WorkerAck,
  WorkerAckSchema,
  type WorkerListResponse,
  WorkerListResponseSchema,
} from './schemas.ts';

const MAX_ANNOUNCEMENT_BYTES = 64 * 1024;
const ACK_STATUS = { register: 'registered', heartbeat: 'alive', deregister: 'deregistered' } as const;

const SIGNED =
  'Signed with HMAC-SHA256 over `{timestamp}.{raw body}` using WORKER_REGISTRATION_SECRET: headers ' +
  '`X-PhotoEnhance-Timestamp` (Unix seconds, ±5 min) and `X-PhotoEnhance-Signature: v1=<hex>`. Replays are refused.';

/**
 * One signed announcement route. The body is described, not validated by the library: the signature covers
 * the raw bytes, so the handler reads them itself before anything parses them.
 */
function signedEventRoute(event: WorkerEvent, summary: string, limit: MiddlewareHandler<AppEnv>) {
  return createRoute({
    method: 'post',
    path: `/api/v1/workers/${event}`,
    summary,
    description: `${SIGNED} The body's \`event\` must be \`${event}\`.`,
    tags: ['workers'],
    security: [{ workerSignature: [], workerTimestamp: [] }],
    middleware: [limit] as const,
    request: { body: describedJsonBody(WorkerAnnouncementSchema) },
    responses: {
      200: jsonResponse('Accepted', WorkerAckSchema),
      ...errorResponses({
        400: 'Body is not a valid announcement, or the event does not match the route',
        401: 'Signature missing, wrong, outside the ±5 min window, or replayed (nothing stored)',
        403: 'Registration disabled (no WORKER_REGISTRATION_SECRET configured)',
        413: 'Body over 64 KiB',
      }),
    },
  });
}

const modelsRoute = createRoute({
  method: 'get',
  path: '/api/v1/models',
  summary: 'Models the alive workers can run (id, task, ready = installed on some worker, default)',
  description:
    "Merged from the workers' registration records: only workers that registered (REGISTER_URL) and sent a heartbeat recently count. Face restorers appear as ready only where a worker has one installed.",
  responses: { 200: jsonResponse('Models', ModelListResponseSchema) },
});

/**
 * Worker self-registration: signed register/heartbeat/deregister (HMAC-SHA256 over timestamp and body, ±5 min,
 * replays refused) and the admin list. Nothing is read from the body or stored before the signature checks
 * out; the secret itself never appears in a response or a log line.
 */
export function workerRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const { records, config, metrics } = deps;
  const app = createRouter();
  const registry = createWorkerRegistry({
    workers: records.workers,
    staleAfterMs: config.WORKER_STALE_AFTER_SECONDS * 1000,
    forgetAfterMs: config.WORKER_FORGET_AFTER_SECONDS * 1000,
  });
  // A signature stays valid from 5 min before to 5 min after its timestamp: remember it for that whole span.
  const replays = createReplayGuard({ ttlMs: (2 * DEFAULT_TOLERANCE_SECONDS + 60) * 1000 });
  metrics?.bindWorkerSource(() => registry.list().then((l) => l.counts));

  const signedEvent = (event: WorkerEvent) => async (c: Context<AppEnv>) => {
    const secret = config.WORKER_REGISTRATION_SECRET;
    if (!secret) {
      throw new PhotoEnhanceError(
        'FORBIDDEN',
        'Worker registration is disabled: WORKER_REGISTRATION_SECRET is not set',
      );
    }
    const raw = await c.req.text();
    let verified: ReturnType<typeof verifySignature>;
    try {
      verified = verifySignature({
        secret,
        timestamp: c.req.header(TIMESTAMP_HEADER),
        signature: c.req.header(SIGNATURE_HEADER),
        body: raw,
      });
    } catch (err) {
      metrics?.workerAuthFailures.inc({ reason: 'signature' });
      throw err;
    }
    // This instance's memory first (cheap), then the shared record every instance checks.
    if (!replays.claim(verified.digest) || !(await records.replays.claim(verified.digest))) {
      metrics?.workerAuthFailures.inc({ reason: 'replay' });
      throw new PhotoEnhanceError('UNAUTHORIZED', 'Request signature is missing, invalid or expired', {
        details: { reason: 'replayed' },
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (cause) {
      throw new PhotoEnhanceError('INVALID_INPUT', 'Body is not JSON', { cause });
    }
    const parsed = WorkerAnnouncementSchema.safeParse(json);
    if (!parsed.success) throw fromZodError(parsed.error);
    if (parsed.data.event !== event) {
      throw new PhotoEnhanceError('INVALID_INPUT', `This route takes "${event}" events, not "${parsed.data.event}"`, {
        details: { field: 'event' },
      });
    }
    const record = await registry.apply(parsed.data);
    c.get('logger').info(
      { workerId: record.workerId, event, url: record.url, state: record.state },
      `worker ${ACK_STATUS[event]}`,
    );
    const ack: WorkerAck = {
      worker_id: record.workerId,
      event,
      status: ACK_STATUS[event],
      stale_after_seconds: config.WORKER_STALE_AFTER_SECONDS,
    };
    return c.json(ack);
  };

  const limit = bodyLimit({
    maxSize: MAX_ANNOUNCEMENT_BYTES,
    onError: () => {
      throw new PhotoEnhanceError('FILE_TOO_LARGE', `Announcements are limited to ${MAX_ANNOUNCEMENT_BYTES} bytes`);
    },
  });
  app.openapi(
    signedEventRoute(
      'register',
      'A worker announces itself after warm-up (id, URL, providers/GPU, models, capacity)',
      limit,
    ),
    signedEvent('register'),
  );
  app.openapi(
    signedEventRoute('heartbeat', 'Periodic heartbeat (every 30 s) with the current state', limit),
    signedEvent('heartbeat'),
  );
  app.openapi(
    signedEventRoute('deregister', 'Clean shutdown: the worker is listed as stale from now on', limit),
    signedEvent('deregister'),
  );

  const listRoute = createRoute({
    method: 'get',
    path: '/api/v1/workers',
    summary: 'Registered workers, alive or stale (admin)',
    tags: ['workers'],
    security: [{ adminKey: [] }],
    middleware: [adminKeyAuth(config, deps.tenants)] as const,
    responses: {
      200: jsonResponse('Workers', WorkerListResponseSchema),
      ...errorResponses({
        401: 'Admin key missing or wrong',
        403: 'Client keys are configured but no ADMIN_API_KEY',
      }),
    },
  });
  app.openapi(listRoute, async (c) => {
    const listing = await registry.list();
    c.header('Cache-Control', 'no-store');
    const body: WorkerListResponse = { ...listing, stale_after_seconds: config.WORKER_STALE_AFTER_SECONDS };
    return c.json(body);
  });

  // A client route (API keys apply): what the alive workers can run, for pickers such as the web app's.
  app.openapi(modelsRoute, async (c) => {
    const alive = (await registry.list()).workers.filter((w) => w.status === 'alive');
    c.header('Cache-Control', 'no-store');
    const body: ModelListResponse = { models: mergeModels(alive), workers_alive: alive.length };
    return c.json(body);
  });

  return app;
}
