/**
 * Retention and deletion against the real API, with RETENTION_HOURS short enough to pass within the test:
 * a finished task shows expires_at, answers 410 EXPIRED on every read the moment it passes (before any sweep),
 * and the service's own sweeper then leaves no object of it; DELETE leaves nothing at once. The stack has a
 * bucket of its own, so the sweeps never touch what other test files store beside it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sweepRetention } from '@photoenhance/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEngine } from '../harness/engine.ts';
import { testPhoto } from '../harness/images.ts';
import { type Stack, startStack } from '../harness/stack.ts';
import { type TenantClient, tenantClient } from './tenant-client.ts';

const KEY = 'retention-key-0123456789abcdef';
/** 2.7 s. */
const RETENTION_HOURS = 0.00075;
const RETENTION_MS = Math.round(RETENTION_HOURS * 3600 * 1000);

let stack: Stack;
const engine = createTestEngine();
let client: TenantClient;

beforeAll(async () => {
  stack = await startStack({
    ownBucket: true,
    // The API's own sweeper waits an hour between passes here: the test runs the pass itself, when it wants.
    apiEnv: { API_KEYS: KEY, RETENTION_HOURS: String(RETENTION_HOURS), RETENTION_SWEEP_INTERVAL_MS: '3600000' },
  });
  client = tenantClient(stack.apiUrl, KEY);
  await stack.startWorker({ engine });
});
afterAll(async () => {
  await stack?.stop();
  await engine.close();
});

async function finishedTask(): Promise<{ taskId: string; status: { completed_at: string; expires_at: string } }> {
  const created = await client.enhance(await testPhoto(16, 16));
  expect(created.status).toBe(200);
  const taskId = created.body.task_id as string;
  for (;;) {
    const status = await client.request('GET', `/api/v1/status/${taskId}`);
    if (status.body.status === 'completed') return { taskId, status: status.body };
    expect(['queued', 'processing']).toContain(status.body.status);
    await sleep(50);
  }
}

/** Every object in the bucket that belongs to the task (input, output, record, cancel and quota markers). */
async function objectsOf(taskId: string): Promise<string[]> {
  return (await stack.backend.storage.list('')).map((o) => o.key).filter((k) => k.includes(taskId));
}

describe('security: retention and deletion', () => {
  it('expires a finished task: expires_at, then 410 EXPIRED on every read at once, then nothing left after the sweep', async () => {
    const { taskId, status } = await finishedTask();
    expect(Date.parse(status.expires_at) - Date.parse(status.completed_at)).toBe(RETENTION_MS);
    expect((await objectsOf(taskId)).length).toBeGreaterThanOrEqual(3); // input, output, record

    await sleep(Math.max(0, Date.parse(status.expires_at) - Date.now()) + 50);
    for (const path of [`/api/v1/status/${taskId}`, `/api/v1/download/${taskId}`, `/api/v1/tasks/${taskId}/events`]) {
      const res = await client.request('GET', path);
      expect(res.status, path).toBe(410);
      expect(res.body.error.code, path).toBe('EXPIRED');
      expect(res.body.error.message, path).toMatch(/expired/i);
    }
    // The bytes are still there until the sweep: the answers above did not wait for it.
    expect((await objectsOf(taskId)).length).toBeGreaterThan(0);

    const swept = await sweepRetention(stack.backend.storage, { retentionMs: RETENTION_MS });
    expect(swept.tasks).toBeGreaterThanOrEqual(1);
    expect(await objectsOf(taskId)).toEqual([]);
    expect((await client.request('GET', `/api/v1/status/${taskId}`)).status).toBe(404);
  });

  it('DELETE removes input, output, record and quota marker at once', async () => {
    const { taskId } = await finishedTask();
    const res = await client.request('DELETE', `/api/v1/tasks/${taskId}`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('deleted');
    expect(await objectsOf(taskId)).toEqual([]);
  });

  it('removes inputs that have no task record after the grace, but not a pending direct upload', async () => {
    const storage = stack.backend.storage;
    const orphan = 'inputs/0b6f2a4e-3c1d-4e5f-8a9b-0c1d2e3f4a5b/lost.png';
    await storage.put(orphan, await testPhoto(8, 8), { contentType: 'image/png' });
    const issued = await client.request('POST', '/api/v1/uploads', {
      json: { filename: 'kept.png', content_type: 'image/png', size: 100 },
    });
    expect(issued.status).toBe(201);
    const pending = `inputs/${issued.body.task_id}/kept.png`;
    await storage.put(pending, Buffer.alloc(100), { contentType: 'image/png' });

    await sweepRetention(storage, { retentionMs: RETENTION_MS, orphanInputAgeMs: 0 });
    const left = (await storage.list('inputs/')).map((o) => o.key);
    expect(left).not.toContain(orphan);
    expect(left).toContain(pending);
  });
});
