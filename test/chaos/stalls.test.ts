/**
 * Issue 11 §3 on MinIO + ElasticMQ: each server is frozen (SIGSTOP, then SIGCONT) for a while as tasks run.
 * Meanwhile the API answers 503 JSON within a bounded time and /ready names the frozen dependency; afterwards
 * every accepted task finishes, none failed, and no record is left waiting for a job.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiProc,
  connectScenario,
  figure,
  type Proc,
  scenarioEnv,
  serverPid,
  sleep,
  startApi,
  startWorker,
  taskReader,
} from './procs.ts';

const STALL_MS = 8000;
const env = scenarioEnv('stalls', {
  BACKEND_TIMEOUT_MS: '1500',
  WORKER_LEASE_SECONDS: '10',
  WORKER_RECORD_GRACE_MS: '5000',
  WORKER_RETRY_BACKOFF_SECONDS: '1',
  MAX_RECEIVE_COUNT: '10',
});

let api: ApiProc;
let worker: Proc;
let image: Buffer;
beforeAll(async () => {
  api = await startApi(env);
  worker = await startWorker({ ...env, WORKER_ID: 'stall-worker' });
  image = await sharp({ create: { width: 192, height: 192, channels: 3, background: '#a63' } })
    .png()
    .toBuffer();
}, 180_000);
afterAll(async () => {
  // Never leave a server frozen for the next scenario, whatever happened.
  for (const name of ['minio', 'elasticmq'] as const) {
    try {
      process.kill(serverPid(name), 'SIGCONT');
    } catch {
      // already running or gone
    }
  }
  await Promise.all([api?.kill('SIGTERM'), worker?.kill('SIGTERM')]);
});

async function upload(): Promise<{ status: number; body: { task_id?: string; error?: { code: string } }; ms: number }> {
  const form = new FormData();
  form.append('file', new File([new Uint8Array(image)], 'p.png', { type: 'image/png' }));
  for (const [k, v] of Object.entries({ scale: '2', quality_level: 'fast', face: 'false' })) form.append(k, v);
  const t0 = performance.now();
  const res = await fetch(`${api.url}/api/v1/enhance`, {
    method: 'POST',
    body: form,
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, body: (await res.json()) as never, ms: performance.now() - t0 };
}

async function timedGet(path: string) {
  const t0 = performance.now();
  const res = await fetch(`${api.url}${path}`, { signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: (await res.json()) as Record<string, never>, ms: performance.now() - t0 };
}

describe('storage and queue servers frozen while tasks run', () => {
  it('answers 503 promptly, names the frozen dependency, and finishes every accepted task', async () => {
    const backend = await connectScenario(env);
    const tasks = taskReader(backend);
    const accepted: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await upload();
      expect(r.status).toBe(202);
      accepted.push(r.body.task_id as string);
    }
    const slowest: Record<string, number> = {};
    for (const name of ['minio', 'elasticmq'] as const) {
      const pid = serverPid(name);
      process.kill(pid, 'SIGSTOP');
      const frozenAt = Date.now();
      try {
        const ready = await timedGet('/ready');
        expect(ready.status).toBe(503);
        const checks = ready.body.checks as unknown as Record<string, string>;
        expect(checks[name === 'minio' ? 'storage' : 'queue']).toMatch(/^error: /);
        expect(checks[name === 'minio' ? 'queue' : 'storage']).toBe('ok');
        const during = await upload();
        expect(during.status).toBe(503);
        expect(during.body.error?.code).toBe(name === 'minio' ? 'STORAGE_ERROR' : 'QUEUE_ERROR');
        const status = name === 'minio' ? await timedGet(`/api/v1/status/${accepted[0]}`) : undefined;
        if (status) expect(status.status).toBe(503);
        // Reads answer within one bound; a refused upload also undoes its input first (a second bound).
        expect(Math.max(ready.ms, status?.ms ?? 0)).toBeLessThan(2500);
        expect(during.ms).toBeLessThan(4000);
        slowest[name] = Math.max(ready.ms, during.ms, status?.ms ?? 0);
        const health = await timedGet('/health');
        expect(health.status).toBe(200);
        await sleep(Math.max(0, STALL_MS - (Date.now() - frozenAt)));
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      // Tasks keep coming in once it is back.
      const r = await upload();
      expect(r.status).toBe(202);
      accepted.push(r.body.task_id as string);
    }

    const deadline = Date.now() + 240_000;
    let records = await Promise.all(accepted.map((id) => tasks.read(id)));
    while (Date.now() < deadline && !records.every((r) => r?.status === 'completed' || r?.status === 'failed')) {
      await sleep(500);
      records = await Promise.all(accepted.map((id) => tasks.read(id)));
    }
    // Every record in the bucket (also of refused uploads, if any was left) is finished: none waits forever.
    const all = (await backend.storage.list('tasks/')).filter((o) => o.key.endsWith('.json'));
    const unfinished = (
      await Promise.all(all.map((o) => tasks.read(o.key.slice('tasks/'.length, -'.json'.length))))
    ).filter((r) => r && r.status !== 'completed');
    figure('slowest answer while MinIO was frozen (/ready, upload, status)', `${Math.round(slowest.minio ?? 0)} ms`);
    figure('slowest answer while ElasticMQ was frozen (/ready, upload)', `${Math.round(slowest.elasticmq ?? 0)} ms`);
    figure(
      'tasks through two 8 s freezes',
      `${records.filter((r) => r?.status === 'completed').length}/${accepted.length} completed`,
    );
    backend.close();
    expect(records.map((r) => r?.status)).toEqual(accepted.map(() => 'completed'));
    expect(unfinished).toEqual([]);
    expect(worker.alive()).toBe(true);
  }, 400_000);
});
