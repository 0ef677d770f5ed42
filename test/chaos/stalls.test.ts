/**
 * Issue 11 §3 on MinIO + ElasticMQ, twice over: each server first frozen (SIGSTOP, then SIGCONT) for a while, then
 * really stopped (SIGKILL) and started again on the same port and data directory, as tasks run. Meanwhile the API
 * answers 503 JSON within a bounded time and /ready names the dependency that is down; the worker backs off and
 * recovers; afterwards every accepted task finished exactly once (one completion, one output object), none
 * failed, and no record is left waiting for a job. ElasticMQ keeps its queues and messages on disk
 * (scripts/real-servers/start.sh), as a deployment must: SQS never forgets a queue.
 */
import { isValidId } from '@photoenhance/contracts';
import { logRef } from '@photoenhance/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiProc,
  connectScenario,
  figure,
  freezeServer,
  killServer,
  type Proc,
  restartServer,
  type ServerName,
  scenarioEnv,
  serverAlive,
  serverPid,
  sleep,
  startApi,
  startWorker,
  taskReader,
  thawServer,
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
  // Never leave a server frozen or stopped for the next scenario, whatever happened.
  for (const name of ['minio', 'elasticmq'] as const) {
    try {
      process.kill(serverPid(name), 'SIGCONT');
    } catch {
      // already running or gone
    }
    if (!serverAlive(name)) await restartServer(name);
  }
  await Promise.all([api?.kill('SIGTERM'), worker?.kill('SIGTERM')]);
}, 240_000);

async function upload(
  bytes: Buffer = image,
): Promise<{ status: number; body: { task_id?: string; error?: { code: string } }; ms: number }> {
  const form = new FormData();
  form.append('file', new File([new Uint8Array(bytes)], 'p.png', { type: 'image/png' }));
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

describe('storage and queue servers frozen, then stopped and restarted, while tasks run', () => {
  it('answers 503 promptly, names the frozen dependency, and finishes every accepted task', async () => {
    const backend = await connectScenario(env);
    const tasks = taskReader(backend);
    const accepted: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await upload();
      expect(r.status).toBe(200);
      accepted.push(r.body.task_id as string);
    }
    const slowest: Record<string, number> = {};
    for (const name of ['minio', 'elasticmq'] as const) {
      let frozenAt = Date.now();
      try {
        frozenAt = await freezeServer(name);
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
        thawServer(name);
      }
      // Tasks keep coming in once it is back.
      const r = await upload();
      expect(r.status).toBe(200);
      accepted.push(r.body.task_id as string);
    }

    const deadline = Date.now() + 240_000;
    let records = await Promise.all(accepted.map((id) => tasks.read(id)));
    while (Date.now() < deadline && !records.every((r) => r?.status === 'completed' || r?.status === 'failed')) {
      await sleep(500);
      records = await Promise.all(accepted.map((id) => tasks.read(id)));
    }
    // Every record in the bucket (also of refused uploads, if any was left) is finished: none waits forever.
    // Task records only: the worker's conditional-write probe lives under tasks/ too.
    const all = (await backend.storage.list('tasks/')).filter(
      (o) => o.key.endsWith('.json') && isValidId(o.key.slice('tasks/'.length, -'.json'.length)),
    );
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

/** Polls `check` until it holds; false when `timeoutMs` passed first. */
async function until(check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

const DOWN_MS = 8000;
/** The API's answer while a server is stopped: a refused connection is immediate, so this is generous. */
const ANSWER_BOUND_MS = 2000;

describe('storage and queue servers stopped (SIGKILL) and restarted on the same port and data', () => {
  it('answers 503 within ~2 s, names the server that is down, and finishes every task exactly once', async () => {
    const backend = await connectScenario(env);
    const tasks = taskReader(backend);
    // Big enough (0.07 MP → ×2) that the worker is mid-job when a server goes.
    const busy = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#369' } })
      .png()
      .toBuffer();
    const accepted: string[] = [];
    const answers: Record<string, number> = {};
    const restarts: Record<string, number> = {};
    const recoveries: Record<string, number> = {};
    let receiveFailures = 0;
    /** Jobs in ElasticMQ when it was killed: only its on-disk store brings them back. */
    let queuedAtKill = 0;
    for (const name of ['minio', 'elasticmq'] as ServerName[]) {
      const batch: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await upload(busy);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        batch.push(r.body.task_id as string);
      }
      accepted.push(...batch);
      // Stop it while the worker is mid-job, not between jobs.
      await until(
        async () => (await Promise.all(batch.map((id) => tasks.read(id)))).some((r) => r?.status === 'processing'),
        120_000,
      );
      const linesBefore = worker.lines.length;
      if (name === 'elasticmq') {
        const depth = await backend.queue.depth();
        queuedAtKill = depth.visible + depth.inFlight;
      }
      const downAt = await killServer(name);
      const dependency = name === 'minio' ? 'storage' : 'queue';
      const ready = await timedGet('/ready');
      expect(ready.status).toBe(503);
      const checks = ready.body.checks as unknown as Record<string, string>;
      expect(checks[dependency]).toMatch(/^error: /);
      expect(checks[name === 'minio' ? 'queue' : 'storage']).toBe('ok');
      const during = await upload(busy);
      expect(during.status, JSON.stringify(during.body)).toBe(503);
      expect(during.body.error?.code).toBe(name === 'minio' ? 'STORAGE_ERROR' : 'QUEUE_ERROR');
      const status = name === 'minio' ? await timedGet(`/api/v1/status/${batch[0]}`) : undefined;
      if (status) {
        expect(status.status).toBe(503);
        expect((status.body.error as unknown as { code: string }).code).toBe('STORAGE_ERROR');
      }
      answers[name] = Math.max(ready.ms, during.ms, status?.ms ?? 0);
      expect(answers[name]).toBeLessThan(ANSWER_BOUND_MS);
      expect((await timedGet('/health')).status).toBe(200);
      await sleep(Math.max(0, DOWN_MS - (Date.now() - downAt)));
      expect(worker.alive()).toBe(true);
      if (name === 'elasticmq') {
        // Down until the worker has tried to receive (a worker busy with a job receives only when it is done):
        // its loop failed and backed off rather than spinning or exiting.
        const receiveFailed = () => worker.lines.slice(linesBefore).filter((l) => l.msg === 'receive failed');
        expect(await until(async () => receiveFailed().length > 0, 180_000, 250)).toBe(true);
        receiveFailures = receiveFailed().length;
        // The back-off ladder is 0.25, 0.5, 1, 2, then 5 s: a loop without it would fail thousands of times.
        expect(receiveFailures).toBeLessThan((Date.now() - downAt) / 250);
      }

      restarts[name] = await restartServer(name);
      const restartedAt = Date.now();
      expect(await until(async () => (await timedGet('/ready')).status === 200, 60_000)).toBe(true);
      recoveries[name] = Date.now() - restartedAt;
      const after = await upload(busy);
      expect(after.status, JSON.stringify(after.body)).toBe(200);
      accepted.push(after.body.task_id as string);
    }

    const finished = await until(
      async () =>
        (await Promise.all(accepted.map((id) => tasks.read(id)))).every(
          (r) => r?.status === 'completed' || r?.status === 'failed',
        ),
      300_000,
      500,
    );
    const records = await Promise.all(accepted.map((id) => tasks.read(id)));
    // Exactly once: one output object per task, one completion in the worker's log.
    const outputs = await Promise.all(
      accepted.map(async (id) => (await backend.storage.list(`outputs/${id}/`)).length),
    );
    const completions = new Map<string, number>();
    for (const l of worker.lines) {
      // Log lines name a task by its ref (packages/core/src/logging/log-refs.ts), never by its id.
      if (l.msg === 'job completed')
        completions.set(String(l.task_ref), (completions.get(String(l.task_ref)) ?? 0) + 1);
    }
    // The queue drains: a job whose delete failed while ElasticMQ was down comes back and is acknowledged.
    const drained = await until(
      async () => {
        const d = await backend.queue.depth();
        return d.visible + d.inFlight + d.delayed === 0;
      },
      90_000,
      500,
    );
    // Task records only: the worker's conditional-write probe lives under tasks/ too.
    const all = (await backend.storage.list('tasks/')).filter(
      (o) => o.key.endsWith('.json') && isValidId(o.key.slice('tasks/'.length, -'.json'.length)),
    );
    const unfinished = (
      await Promise.all(all.map((o) => tasks.read(o.key.slice('tasks/'.length, -'.json'.length))))
    ).filter((r) => r && r.status !== 'completed');
    for (const name of ['minio', 'elasticmq']) {
      figure(
        `${name} stopped (SIGKILL): slowest API answer (/ready, upload${name === 'minio' ? ', status' : ''})`,
        `${Math.round(answers[name] ?? 0)} ms`,
      );
      figure(
        `${name} restart (same port and data) / API ready again after it`,
        `${((restarts[name] ?? 0) / 1000).toFixed(1)} s / ${((recoveries[name] ?? 0) / 1000).toFixed(1)} s`,
      );
    }
    figure('worker receive failures (backing off) while ElasticMQ was down', receiveFailures);
    figure('jobs in ElasticMQ (waiting + in flight) when it was killed, all finished after', queuedAtKill);
    figure(
      'tasks through two stop/restarts',
      `${records.filter((r) => r?.status === 'completed').length}/${accepted.length} completed, ` +
        `${outputs.filter((n) => n > 1).length} duplicated, ${[...completions.values()].filter((n) => n > 1).length} completed twice`,
    );
    backend.close();
    expect(finished).toBe(true);
    expect(records.map((r) => r?.status)).toEqual(accepted.map(() => 'completed'));
    expect(outputs).toEqual(accepted.map(() => 1));
    expect(accepted.map((id) => completions.get(logRef(id)) ?? 0)).toEqual(accepted.map(() => 1));
    expect(unfinished).toEqual([]);
    expect(drained).toBe(true);
    expect(worker.alive()).toBe(true);
  }, 500_000);
});
