import { randomUUID } from 'node:crypto';
import { type WorkerAnnouncementInput, type WorkerEvent, WorkerRecordSchema } from '@photoenhance/contracts';
import { keys, SIGNATURE_HEADER, signatureHeaders, TIMESTAMP_HEADER } from '@photoenhance/core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.ts';
import { readJson, startTestApi, type TestApi } from '../../harness.ts';

const SECRET = 'registration-secret-for-tests-0123';
const ADMIN_KEY = 'admin-key-for-tests-0123456789';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ WORKER_REGISTRATION_SECRET: SECRET, ADMIN_API_KEY: ADMIN_KEY });
});
afterAll(async () => {
  await api?.dispose();
});

function announcement(workerId: string, event: WorkerEvent = 'register'): WorkerAnnouncementInput {
  return {
    event,
    nonce: randomUUID(),
    sentAt: new Date().toISOString(),
    worker: {
      workerId,
      url: 'http://203.0.113.10:8001',
      addressSource: 'config',
      version: '0.1.0',
      providers: ['cuda', 'cpu'],
      activeProvider: 'cpu',
      gpu: [{ name: 'NVIDIA H100', memoryMiB: 81_559 }],
      models: ['realesrgan-x4fast'],
      capacity: 1,
      state: 'idle',
      startedAt: new Date().toISOString(),
    },
  };
}

function signed(
  path: string,
  body: string,
  options: { secret?: string; at?: Date; headers?: Record<string, string> } = {},
): RequestInit & { path: string } {
  return {
    path,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...signatureHeaders(options.secret ?? SECRET, body, options.at),
      ...options.headers,
    },
    body,
  };
}

async function send(req: RequestInit & { path: string }): Promise<Response> {
  const { path, ...init } = req;
  return api.app.request(path, init);
}

async function storedRecord(workerId: string) {
  return api.backend.storage.readJson(keys.workerRecord(workerId), (v) => WorkerRecordSchema.parse(v));
}

async function listWorkers(key = ADMIN_KEY) {
  const res = await api.app.request('/api/v1/workers', { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return readJson(res);
}

describe('worker registration', () => {
  it('stores a worker registered with a valid signature and lists it as alive', async () => {
    const id = `gpu-${randomUUID().slice(0, 8)}`;
    const res = await send(signed('/api/v1/workers/register', JSON.stringify(announcement(id))));
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({ worker_id: id, event: 'register', status: 'registered' });
    const record = await storedRecord(id);
    expect(record).toMatchObject({
      workerId: id,
      url: 'http://203.0.113.10:8001',
      capacity: 1,
      providers: ['cuda', 'cpu'],
    });
    const list = await listWorkers();
    expect(list.workers.find((w: { worker_id: string }) => w.worker_id === id)).toMatchObject({
      status: 'alive',
      gpu: [{ name: 'NVIDIA H100', memoryMiB: 81_559 }],
      models: ['realesrgan-x4fast'],
    });
  });

  it('refuses a bad signature with 401 and stores nothing', async () => {
    const id = `bad-${randomUUID().slice(0, 8)}`;
    const body = JSON.stringify(announcement(id));
    const before = await api.snapshot();
    const wrongSecret = await send(signed('/api/v1/workers/register', body, { secret: 'another-secret-0123456789' }));
    const tampered = signed('/api/v1/workers/register', body);
    tampered.body = body.replace('203.0.113.10', '198.51.100.7');
    const tamperedRes = await send(tampered);
    const unsigned = await api.app.request('/api/v1/workers/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const expired = await send(signed('/api/v1/workers/register', body, { at: new Date(Date.now() - 6 * 60_000) }));
    for (const res of [wrongSecret, tamperedRes, unsigned, expired]) {
      expect(res.status).toBe(401);
      const json = await readJson(res);
      expect(json.error.code).toBe('UNAUTHORIZED');
      expect(JSON.stringify(json)).not.toContain(SECRET);
    }
    expect(await api.snapshot()).toEqual(before);
    expect(await storedRecord(id)).toBeNull();
  });

  it('refuses a replayed request with 401 and leaves the record as the first request wrote it', async () => {
    const id = `replay-${randomUUID().slice(0, 8)}`;
    const request = signed('/api/v1/workers/register', JSON.stringify(announcement(id)));
    expect((await send(request)).status).toBe(200);
    const first = await api.backend.storage.getBuffer(keys.workerRecord(id));
    const again = await send(request);
    expect(again.status).toBe(401);
    expect((await readJson(again)).error.details).toEqual({ reason: 'replayed' });
    expect(await api.backend.storage.getBuffer(keys.workerRecord(id))).toEqual(first);
  });

  it('refuses a replay sent to a second API instance over the same storage (shared guard)', async () => {
    // A second, independent app (own memory) on the same bucket: as two instances behind a load balancer.
    const other = createApp({
      storage: api.backend.storage,
      queue: api.backend.queue,
      config: api.config,
      logger: pino({ level: 'silent' }),
    });
    const id = `lb-${randomUUID().slice(0, 8)}`;
    const request = signed('/api/v1/workers/register', JSON.stringify(announcement(id)));
    expect((await send(request)).status).toBe(200);
    const first = await api.backend.storage.getBuffer(keys.workerRecord(id));
    const { path, ...init } = request;
    const replayed = await other.request(path, init);
    expect(replayed.status).toBe(401);
    expect((await readJson(replayed)).error.details).toEqual({ reason: 'replayed' });
    expect(await api.backend.storage.getBuffer(keys.workerRecord(id))).toEqual(first);
    // A fresh signature is still welcome on either instance.
    const fresh = signed('/api/v1/workers/heartbeat', JSON.stringify(announcement(id, 'heartbeat')));
    const { path: p2, ...init2 } = fresh;
    expect((await other.request(p2, init2)).status).toBe(200);
  });

  it('refuses an event sent to the wrong route', async () => {
    const id = `wrong-${randomUUID().slice(0, 8)}`;
    const res = await send(signed('/api/v1/workers/heartbeat', JSON.stringify(announcement(id, 'register'))));
    expect(res.status).toBe(400);
    expect(await storedRecord(id)).toBeNull();
  });

  it('lists a deregistered worker and one that stopped heartbeating as stale', async () => {
    const stopped = `stopped-${randomUUID().slice(0, 8)}`;
    expect((await send(signed('/api/v1/workers/register', JSON.stringify(announcement(stopped))))).status).toBe(200);
    const bye = await send(signed('/api/v1/workers/deregister', JSON.stringify(announcement(stopped, 'deregister'))));
    expect(await readJson(bye)).toMatchObject({ status: 'deregistered' });

    // A worker that crashed: its last heartbeat is older than WORKER_STALE_AFTER_SECONDS.
    const crashed = `crashed-${randomUUID().slice(0, 8)}`;
    expect((await send(signed('/api/v1/workers/register', JSON.stringify(announcement(crashed))))).status).toBe(200);
    const record = await storedRecord(crashed);
    const longAgo = new Date(Date.now() - (api.config.WORKER_STALE_AFTER_SECONDS + 5) * 1000).toISOString();
    await api.backend.storage.writeJson(keys.workerRecord(crashed), { ...record, lastSeenAt: longAgo });

    const list = await listWorkers();
    const byId = new Map(list.workers.map((w: { worker_id: string }) => [w.worker_id, w]));
    expect(byId.get(stopped)).toMatchObject({ status: 'stale', state: 'stopping' });
    expect(byId.get(stopped)).toHaveProperty('deregistered_at');
    expect(byId.get(crashed)).toMatchObject({ status: 'stale' });
    expect(list.counts.stale).toBeGreaterThanOrEqual(2);

    // A heartbeat brings the crashed one back.
    expect(
      (await send(signed('/api/v1/workers/heartbeat', JSON.stringify(announcement(crashed, 'heartbeat'))))).status,
    ).toBe(200);
    const after = await listWorkers();
    expect(after.workers.find((w: { worker_id: string }) => w.worker_id === crashed)).toMatchObject({
      status: 'alive',
    });
  });

  it('needs the admin key to list workers', async () => {
    expect((await api.app.request('/api/v1/workers')).status).toBe(401);
    const wrong = await api.app.request('/api/v1/workers', {
      headers: { authorization: 'Bearer not-the-admin-key-000' },
    });
    expect(wrong.status).toBe(401);
    const viaHeader = await api.app.request('/api/v1/workers', { headers: { 'x-api-key': ADMIN_KEY } });
    expect(viaHeader.status).toBe(200);
  });

  it('counts refused announcements in the metrics', async () => {
    const body = JSON.stringify(announcement('metrics-worker'));
    await send(signed('/api/v1/workers/register', body, { headers: { [SIGNATURE_HEADER]: 'v1=00' } }));
    await send(signed('/api/v1/workers/register', body, { headers: { [TIMESTAMP_HEADER]: '1' } }));
    const text = await (await api.app.request('/metrics')).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('photoenhance_api_worker_auth_failures_total{reason="signature"}'));
    expect(Number(line?.split(' ').pop())).toBeGreaterThanOrEqual(2);
  });
});

describe('worker registration disabled', () => {
  it('answers 403 while no secret is configured, storing nothing', async () => {
    const plain = await startTestApi();
    try {
      const body = JSON.stringify(announcement('no-secret'));
      const res = await plain.app.request('/api/v1/workers/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signatureHeaders(SECRET, body) },
        body,
      });
      expect(res.status).toBe(403);
      expect((await plain.snapshot()).keys).toEqual([]);
    } finally {
      await plain.dispose();
    }
  });
});
