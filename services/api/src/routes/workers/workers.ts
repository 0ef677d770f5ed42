import { PhotoEnhanceError, WorkerAnnouncementSchema, type WorkerEvent } from '@photoenhance/contracts';
import {
  createReplayGuard,
  DEFAULT_TOLERANCE_SECONDS,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifySignature,
} from '@photoenhance/core';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { adminKeyAuth } from '../../auth/api-keys.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { fromZodError } from '../../http/errors.ts';
import { mergeModels } from './models.ts';
import { createWorkerRegistry } from './registry.ts';
import type { ModelListResponse, WorkerAck, WorkerListResponse } from './schemas.ts';

const MAX_ANNOUNCEMENT_BYTES = 64 * 1024;
const ACK_STATUS = { register: 'registered', heartbeat: 'alive', deregister: 'deregistered' } as const;

/**
 * Worker self-registration: signed register/heartbeat/deregister (HMAC-SHA256 over timestamp and body, ±5 min,
 * replays refused) and the admin list. Nothing is read from the body or stored before the signature checks
 * out; the secret itself never appears in a response or a log line.
 */
export function workerRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { records, config, metrics } = deps;
  const app = new Hono<AppEnv>();
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
  app.post('/api/v1/workers/register', limit, signedEvent('register'));
  app.post('/api/v1/workers/heartbeat', limit, signedEvent('heartbeat'));
  app.post('/api/v1/workers/deregister', limit, signedEvent('deregister'));

  app.get('/api/v1/workers', adminKeyAuth(config, deps.tenants), async (c) => {
    const listing = await registry.list();
    c.header('Cache-Control', 'no-store');
    const body: WorkerListResponse = { ...listing, stale_after_seconds: config.WORKER_STALE_AFTER_SECONDS };
    return c.json(body);
  });

  // A client route (API keys apply): what the alive workers can run, for pickers such as the web app's.
  app.get('/api/v1/models', async (c) => {
    const alive = (await registry.list()).workers.filter((w) => w.status === 'alive');
    c.header('Cache-Control', 'no-store');
    const body: ModelListResponse = { models: mergeModels(alive), workers_alive: alive.length };
    return c.json(body);
  });

  return app;
}
