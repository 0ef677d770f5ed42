/**
 * Issue 21 on MinIO + ElasticMQ: a photo that needs more memory than the worker has for a job. The API
 * does not know the fleet's budget here (WORKER_MEMORY_BUDGET_MB unset on the API), so the job reaches the
 * worker, which must refuse it before decoding — failed once with MEMORY_BUDGET_EXCEEDED, acknowledged, not
 * redelivered — while nothing dies: the worker's memory never grows toward the job's, and it runs the next
 * photo. Before admission such a job was OOM-killed on every worker it reached until the queue gave up.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiProc,
  connectScenario,
  figure,
  type Proc,
  scenarioEnv,
  sleep,
  startApi,
  startWorker,
  taskReader,
} from './procs.ts';

const BUDGET_MB = 600;
const env = scenarioEnv('membudget', { WORKER_LEASE_SECONDS: '15', MAX_RECEIVE_COUNT: '3' });

let api: ApiProc;
let worker: Proc;
beforeAll(async () => {
  api = await startApi(env);
  worker = await startWorker({ ...env, WORKER_ID: 'budget-worker', WORKER_MEMORY_BUDGET_MB: String(BUDGET_MB) });
}, 180_000);
afterAll(async () => {
  await Promise.all([api?.kill('SIGTERM'), worker?.kill('SIGTERM')]);
});

async function post(bytes: Buffer, name: string, scale: number) {
  const form = new FormData();
  form.append('file', new File([new Uint8Array(bytes)], name, { type: 'image/jpeg' }));
  for (const [k, v] of Object.entries({ scale: String(scale), quality_level: 'fast', face: 'false' }))
    form.append(k, v);
  const res = await fetch(`${api.url}/api/v1/enhance`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as { task_id?: string; error?: { code: string } } };
}

describe('a photo over the worker memory budget', () => {
  it('fails once with MEMORY_BUDGET_EXCEEDED, nothing dies, and the same worker runs the next photo', async () => {
    const backend = await connectScenario(env);
    const tasks = taskReader(backend);
    // 3000×2250 at ×4 (108 MP out): about 1.3 GB of job on top of the worker, over its 600 MB.
    const big = await sharp({
      create: { width: 3000, height: 2250, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 40 } },
    })
      .jpeg({ quality: 80 })
      .toBuffer();
    const small = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a6' } })
      .jpeg()
      .toBuffer();
    const idle = worker.rss();
    const pid = worker.child.pid;

    const refused = await post(big, 'big.jpg', 4);
    expect(refused.status, JSON.stringify(refused.body)).toBe(200);
    let maxRss = idle;
    const deadline = Date.now() + 120_000;
    let record = await tasks.read(refused.body.task_id as string);
    while (Date.now() < deadline && !record?.completedAt) {
      maxRss = Math.max(maxRss, worker.rss());
      await sleep(100);
      record = await tasks.read(refused.body.task_id as string);
    }
    expect(record?.status).toBe('failed');
    expect(record?.error?.code).toBe('MEMORY_BUDGET_EXCEEDED');
    expect(record?.error?.message).toMatch(
      /3000×2250 photo at ×4 needs about \d+ MB; this worker \(WORKER_MEMORY_BUDGET_MB\) has 600 MB/,
    );
    expect(record?.attempts).toBe(1);
    // Refused before decoding: the worker never grew toward the job's 1.3 GB.
    expect(maxRss - idle).toBeLessThan(200 * 2 ** 20);

    const next = await post(small, 'small.jpg', 2);
    expect(next.status).toBe(200);
    const nextDeadline = Date.now() + 120_000;
    let done = await tasks.read(next.body.task_id as string);
    while (Date.now() < nextDeadline && !done?.completedAt) {
      await sleep(100);
      done = await tasks.read(next.body.task_id as string);
    }
    expect(done?.status, JSON.stringify(done?.error)).toBe('completed');
    expect(worker.alive()).toBe(true);
    expect(worker.child.pid).toBe(pid);
    expect(api.alive()).toBe(true);
    // Acknowledged: nothing waits for redelivery, nothing went to the dead-letter queue.
    const depth = await backend.queue.depth();
    expect(depth).toMatchObject({ visible: 0, inFlight: 0 });
    figure('over-budget photo', `${record?.error?.message} (worker RSS +${Math.round((maxRss - idle) / 2 ** 20)} MiB)`);
    backend.close();
  }, 300_000);
});
