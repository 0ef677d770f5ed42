import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelTask, downloadResult, getStatus, pollStatus, uploadImage } from '../harness/client.ts';
import { createTestEngine, FAST_FORM } from '../harness/engine.ts';
import { testPhoto } from '../harness/images.ts';
import { type Stack, startStack } from '../harness/stack.ts';

let stack: Stack;
const engine = createTestEngine();
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
  await engine.close();
});

/** Many small tiles make a job last a couple of seconds on one CPU thread: long enough to interfere with. */
const SLOW_FORM = { ...FAST_FORM, tile_size: '16', scale: '1' };
let slowImage: Buffer;
beforeAll(async () => {
  slowImage = await testPhoto(128, 128);
});

async function waitProcessing(taskId: string): Promise<void> {
  await pollStatus(stack.apiUrl, taskId, { until: ['processing', 'completed', 'failed'], intervalMs: 20 });
}

const outputs = (taskId: string) => stack.backend.storage.list(`outputs/${taskId}/`);

describe('end to end: cancellation, crashes, shutdown', () => {
  it('cancels a queued task: the worker skips it', async () => {
    const { body } = await uploadImage(stack.apiUrl, await testPhoto(16, 16), FAST_FORM);
    const taskId = body.task_id as string;
    const res = await cancelTask(stack.apiUrl, taskId);
    expect(res.status).toBeLessThan(300);
    expect((await getStatus(stack.apiUrl, taskId)).status).toBe('cancelled');
    const worker = await stack.startWorker({ engine });
    await pollUntil(() => worker.outcomes.length === 1);
    await worker.stop();
    expect(worker.outcomes).toEqual(['cancelled']);
    expect((await getStatus(stack.apiUrl, taskId)).status).toBe('cancelled');
    expect(await outputs(taskId)).toEqual([]);
  });

  it('cancels a task while it is processing: the engine stops and no result is published', async () => {
    const worker = await stack.startWorker({ engine });
    const { body } = await uploadImage(stack.apiUrl, slowImage, SLOW_FORM);
    const taskId = body.task_id as string;
    await waitProcessing(taskId);
    await cancelTask(stack.apiUrl, taskId);
    await pollUntil(() => worker.outcomes.length === 1);
    await worker.stop();
    expect(worker.outcomes).toEqual(['cancelled']);
    const status = await getStatus(stack.apiUrl, taskId);
    expect(status.status).toBe('cancelled');
    expect(status.result).toBeUndefined();
    expect(await outputs(taskId)).toEqual([]);
  });

  it('a worker killed mid-job: another worker finishes the task, with one output', async () => {
    const crashed = await stack.startWorker({ engine });
    const { body } = await uploadImage(stack.apiUrl, slowImage, SLOW_FORM);
    const taskId = body.task_id as string;
    await waitProcessing(taskId);
    await crashed.kill();
    const rescuer = await stack.startWorker({ engine });
    const { final } = await pollStatus(stack.apiUrl, taskId, { until: ['completed', 'failed'], timeoutMs: 60_000 });
    await rescuer.stop();
    expect(final.status).toBe('completed');
    expect(final.attempts).toBe(2);
    expect(rescuer.outcomes).toEqual(['completed']);
    expect(await outputs(taskId)).toHaveLength(1);
  });

  it('graceful shutdown finishes the running job when it fits the grace period', async () => {
    const worker = await stack.startWorker({ engine, timings: { shutdownGraceMs: 60_000 } });
    const { body } = await uploadImage(stack.apiUrl, slowImage, SLOW_FORM);
    const taskId = body.task_id as string;
    await waitProcessing(taskId);
    await worker.stop();
    expect(worker.outcomes).toEqual(['completed']);
    expect((await getStatus(stack.apiUrl, taskId)).status).toBe('completed');
  });

  it('graceful shutdown past the grace period releases the job to the next worker at once', async () => {
    const worker = await stack.startWorker({ engine, timings: { shutdownGraceMs: 0, visibilityTimeoutSeconds: 60 } });
    const { body } = await uploadImage(stack.apiUrl, slowImage, SLOW_FORM);
    const taskId = body.task_id as string;
    await waitProcessing(taskId);
    await worker.stop();
    expect(worker.outcomes).toEqual(['released']);
    const next = await stack.startWorker({ engine });
    // Well under the 60 s visibility: only the release makes this possible.
    const { final } = await pollStatus(stack.apiUrl, taskId, { until: ['completed', 'failed'], timeoutMs: 30_000 });
    await next.stop();
    expect(final.status).toBe('completed');
    expect(final.attempts).toBe(2);
  });

  it('a restart of the embedded stack keeps completed and queued tasks', async (ctx) => {
    if (stack.mode !== 'embedded') ctx.skip();
    const worker = await stack.startWorker({ engine });
    const first = (await uploadImage(stack.apiUrl, await testPhoto(16, 16), { ...FAST_FORM, scale: '2' })).body
      .task_id as string;
    await pollStatus(stack.apiUrl, first, { until: ['completed', 'failed'] });
    await worker.stop();
    const second = (await uploadImage(stack.apiUrl, await testPhoto(16, 16), { ...FAST_FORM, scale: '2' })).body
      .task_id as string;

    await stack.restart();

    const done = await getStatus(stack.apiUrl, first);
    expect(done.status).toBe('completed');
    const { blob } = await downloadResult(stack.apiUrl, done.result?.download_url ?? '');
    expect((await sharp(Buffer.from(await blob.arrayBuffer())).metadata()).width).toBe(32);
    expect((await getStatus(stack.apiUrl, second)).status).toBe('queued');

    const after = await stack.startWorker({ engine });
    const { final } = await pollStatus(stack.apiUrl, second, { until: ['completed', 'failed'] });
    await after.stop();
    expect(final.status).toBe('completed');
  });
});

async function pollUntil(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
