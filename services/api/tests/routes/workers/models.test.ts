import { randomUUID } from 'node:crypto';
import type { WorkerAnnouncementInput, WorkerEvent, WorkerModel } from '@photoenhance/contracts';
import { signatureHeaders } from '@photoenhance/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startTestApi, type TestApi } from '../../harness.ts';

const SECRET = 'registration-secret-for-models-0123';
const CLIENT_KEY = 'client-key-for-models-0123456789';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ WORKER_REGISTRATION_SECRET: SECRET, API_KEYS: CLIENT_KEY });
});
afterAll(async () => {
  await api?.dispose();
});

async function announce(workerId: string, catalog: WorkerModel[], event: WorkerEvent = 'register'): Promise<void> {
  const body: WorkerAnnouncementInput = {
    event,
    nonce: randomUUID(),
    sentAt: new Date().toISOString(),
    worker: {
      workerId,
      version: '0.1.0',
      providers: ['cpu'],
      catalog,
      capacity: 1,
      state: 'idle',
      startedAt: new Date().toISOString(),
    },
  };
  const raw = JSON.stringify(body);
  const res = await api.app.request(`/api/v1/workers/${event}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signatureHeaders(SECRET, raw) },
    body: raw,
  });
  expect(res.status).toBe(200);
}

async function models() {
  const res = await api.app.request('/api/v1/models', { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  expect(res.status).toBe(200);
  return readJson(res);
}

const fast = { id: 'realesrgan-x4fast', task: 'upscale' } as const;
const plus = { id: 'realesrgan-x4plus', task: 'upscale' } as const;
const gfpgan = { id: 'gfpgan-1.4', task: 'face-restore', face_size: 512 } as const;
const gpen = { id: 'gpen-bfr-1024', task: 'face-restore', face_size: 1024 } as const;

describe('GET /api/v1/models', () => {
  it('is empty, and says so, while no worker has registered', async () => {
    expect(await models()).toEqual({ models: [], workers_alive: 0 });
  });

  it('needs a client key like every client route', async () => {
    expect((await api.app.request('/api/v1/models')).status).toBe(401);
  });

  it('merges the alive workers’ catalogues: ready where any has it installed, defaults per worker', async () => {
    await announce('cpu-worker', [
      { ...fast, ready: true, default: true },
      { ...plus, ready: true, default: false },
      { ...gfpgan, ready: false, default: true },
    ]);
    await announce('gpu-worker', [
      { ...fast, ready: true, default: false },
      { ...plus, ready: true, default: true },
      { ...gfpgan, ready: true, default: true },
    ]);
    const body = await models();
    expect(body.workers_alive).toBe(2);
    expect(body.models).toEqual([
      { ...fast, ready: true, default: true, workers_ready: 2 },
      { ...plus, ready: true, default: true, workers_ready: 2 },
      { ...gfpgan, ready: true, default: true, workers_ready: 1 },
    ]);
  });

  it('reports each restorer’s face size as its workers give it', async () => {
    await announce('gpen-worker', [{ ...gpen, ready: true, default: false }]);
    const body = await models();
    expect(body.models.find((m: { id: string }) => m.id === 'gpen-bfr-1024')).toEqual({
      ...gpen,
      ready: true,
      default: false,
      workers_ready: 1,
    });
    expect(body.models.find((m: { id: string }) => m.id === 'gfpgan-1.4')).toMatchObject({ face_size: 512 });
    await announce('gpen-worker', [{ ...gpen, ready: true, default: false }], 'deregister');
  });

  it('forgets a worker that said goodbye: its restorer is no longer offered', async () => {
    await announce('gpu-worker', [{ ...gfpgan, ready: true, default: true }], 'deregister');
    const body = await models();
    expect(body.workers_alive).toBe(1);
    expect(body.models.find((m: { id: string }) => m.id === 'gfpgan-1.4')).toMatchObject({
      ready: false,
      workers_ready: 0,
    });
  });
});
