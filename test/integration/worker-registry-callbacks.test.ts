/**
 * Service breadth across processes' boundaries (API + worker service + a client's webhook receiver, all on
 * 127.0.0.1): a worker registers after warm-up and is listed alive, a finished task's webhook arrives signed,
 * the worker's metrics move, and a stopped worker is listed as stale.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { SIGNATURE_HEADER, TaskCallbackSchema, TIMESTAMP_HEADER, verifySignature } from '@photoenhance/core';
import type { EnhanceResult } from '@photoenhance/engine';
import { loadWorkerConfig, startWorkerService, type WorkerEngine, type WorkerService } from '@photoenhance/gpu-worker';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollStatus, uploadImage } from '../harness/client.ts';
import { testPhoto } from '../harness/images.ts';
import { type Stack, startStack } from '../harness/stack.ts';

const REGISTRATION_SECRET = 'integration-registration-secret';
const CALLBACK_SECRET = 'integration-callback-secret-01';
const ADMIN_KEY = 'integration-admin-key-0123456';
const WORKER_ID = 'it-gpu-worker-1';

/** Fast stand-in for the models (the registry/webhook flow is under test): scale 2 fails permanently. */
const engine: WorkerEngine = {
  async warmUp() {},
  async enhance(input, options): Promise<EnhanceResult> {
    if (options.scale === 2) throw new PhotoEnhanceError('OUTPUT_TOO_LARGE', 'refused by the test engine');
    const data = await sharp(input).resize(16, 16).png().toBuffer();
    return {
      data,
      format: 'png',
      width: 16,
      height: 16,
      input: { format: 'png', width: 8, height: 8, bytes: input.length },
      faces: { detected: 0, restored: 0, skipped: [] },
      models: ['test-x4'],
      timings: { decode: 0.001, upscale: 0.002, encode: 0.001 },
      warnings: [],
    };
  },
  async close() {},
  readiness: () => ({ provider: 'cpu', models: { 'test-x4': 'ready' } }),
};

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

let stack: Stack;
let service: WorkerService | undefined;
let receiver: Server;
let receiverUrl: string;
const deliveries: Delivery[] = [];

async function listWorkers() {
  const res = await fetch(`${stack.apiUrl}/api/v1/workers`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as { workers: { worker_id: string; status: string; [k: string]: unknown }[] };
}

async function waitFor<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const workerMetrics = async () => (await fetch(`http://127.0.0.1:${service?.port}/metrics`)).text();
function sample(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.split(' ').pop()) : 0;
}

beforeAll(async () => {
  stack = await startStack({
    // Counts registered workers: a bucket of its own, so other suites' workers on the same servers are not counted.
    ownBucket: true,
    apiEnv: {
      WORKER_REGISTRATION_SECRET: REGISTRATION_SECRET,
      ADMIN_API_KEY: ADMIN_KEY,
      CALLBACK_ALLOW_PRIVATE: 'true',
      WORKER_STALE_AFTER_SECONDS: '60',
    },
  });
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/photo`;

  const config = loadWorkerConfig({
    WORKER_ID,
    WORKER_PORT: '0',
    WORKER_HOST: '127.0.0.1',
    WORKER_WAIT_TIME_SECONDS: '1',
    WORKER_DLQ_REAP_INTERVAL_MS: '0',
    LOG_LEVEL: 'silent',
    REGISTER_URL: stack.apiUrl,
    WORKER_REGISTRATION_SECRET: REGISTRATION_SECRET,
    PUBLIC_URL: 'http://gpu-1.internal.example:8001',
    // Never looked up here (PUBLIC_URL wins); set anyway so nothing could reach 169.254.169.254.
    IMDS_URL: 'http://127.0.0.1:9',
    ADDRESS_DISCOVERY: 'none',
    REGISTRATION_HEARTBEAT_MS: '300',
    CALLBACK_SECRET,
    CALLBACK_ALLOW_PRIVATE: 'true',
  });
  service = await startWorkerService({ config, backend: stack.backend, engine, logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await service?.stop({ graceMs: 0 });
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  await stack?.stop();
});

describe('worker registry, webhooks and metrics', () => {
  it('lists the worker as alive once it has warmed up and registered', async () => {
    const worker = await waitFor('registration', async () =>
      (await listWorkers()).workers.find((w) => w.worker_id === WORKER_ID && w.status === 'alive'),
    );
    expect(worker).toMatchObject({
      url: 'http://gpu-1.internal.example:8001',
      address_source: 'config',
      providers: ['cpu'],
      active_provider: 'cpu',
      models: ['test-x4'],
      capacity: 1,
      state: 'idle',
    });
    // Its model catalogue reaches GET /api/v1/models: the CPU default upscaler, the restorer not installed.
    const models = (await (await fetch(`${stack.apiUrl}/api/v1/models`)).json()) as {
      models: { id: string; task: string; ready: boolean; default: boolean }[];
      workers_alive: number;
    };
    expect(models.workers_alive).toBe(1);
    expect(models.models.find((m) => m.id === 'realesrgan-x4fast')).toMatchObject({ task: 'upscale', default: true });
    expect(models.models.find((m) => m.id === 'gfpgan-1.4')).toMatchObject({ task: 'face-restore', default: true });
  });

  it('POSTs a signed webhook when a task completes, and the worker metrics move', async () => {
    const before = await workerMetrics();
    const upload = await uploadImage(stack.apiUrl, await testPhoto(24, 16), { callback_url: receiverUrl });
    expect(upload.status).toBe(200);
    const taskId = String(upload.body.task_id);
    const { final } = await pollStatus(stack.apiUrl, taskId, { timeoutMs: 30_000 });
    expect(final.status).toBe('completed');

    const delivery = await waitFor('webhook', async () =>
      deliveries.find((d) => JSON.parse(d.body).task_id === taskId),
    );
    expect(() =>
      verifySignature({
        secret: CALLBACK_SECRET,
        timestamp: delivery.headers[TIMESTAMP_HEADER] as string,
        signature: delivery.headers[SIGNATURE_HEADER] as string,
        body: delivery.body,
      }),
    ).not.toThrow();
    const payload = TaskCallbackSchema.parse(JSON.parse(delivery.body));
    expect(payload).toMatchObject({ event: 'task.completed', status: 'completed', task_id: taskId });
    expect(payload.result).toMatchObject({ width: 16, height: 16, download_url: `/api/v1/download/${taskId}` });

    const after = await waitFor('callback metric', async () => {
      const text = await workerMetrics();
      return sample(text, 'photoenhance_worker_callbacks_total{outcome="delivered"}') >= 1 ? text : undefined;
    });
    const completed = 'photoenhance_worker_jobs_total{outcome="completed"}';
    expect(sample(after, completed)).toBe(sample(before, completed) + 1);
    for (const stage of ['decode', 'upscale', 'encode', 'queue_wait', 'total']) {
      const count = `photoenhance_worker_task_stage_seconds_count{stage="${stage}"}`;
      expect(sample(after, count), stage).toBe(sample(before, count) + 1);
    }
    expect(sample(after, 'photoenhance_worker_state{state="idle"}')).toBe(1);
    expect(sample(after, 'photoenhance_worker_busy')).toBe(0);
    expect(sample(after, 'photoenhance_worker_announcements_total{target="api",event="register",outcome="ok"}')).toBe(
      1,
    );
  });

  it('POSTs a task.failed webhook and counts the failure by code', async () => {
    const upload = await uploadImage(stack.apiUrl, await testPhoto(24, 16), { callback_url: receiverUrl, scale: '2' });
    const taskId = String(upload.body.task_id);
    const { final } = await pollStatus(stack.apiUrl, taskId, { timeoutMs: 30_000 });
    expect(final.status).toBe('failed');
    const delivery = await waitFor('failure webhook', async () =>
      deliveries.find((d) => JSON.parse(d.body).task_id === taskId),
    );
    expect(JSON.parse(delivery.body)).toMatchObject({
      event: 'task.failed',
      error: expect.any(String),
      error_code: 'OUTPUT_TOO_LARGE',
    });
    expect(sample(await workerMetrics(), 'photoenhance_worker_task_failures_total{code="OUTPUT_TOO_LARGE"}')).toBe(1);
  });

  it('lists the worker as stale once it has stopped', async () => {
    await service?.stop({ graceMs: 0 });
    service = undefined;
    const worker = (await listWorkers()).workers.find((w) => w.worker_id === WORKER_ID);
    expect(worker).toMatchObject({ status: 'stale', state: 'stopping' });
    expect(worker?.deregistered_at).toBeTruthy();
  });
});
