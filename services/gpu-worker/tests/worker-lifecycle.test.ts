import type { Backend } from '@photoenhance/core';
import { createTaskRepository } from '@photoenhance/core';
import { describe, expect, it } from 'vitest';
import { pngImage, startTestWorker, submitTask, useTestBackend, waitFor, waitForStatus } from './support.ts';

const stack = useTestBackend();

const outputsOf = (backend: Backend, taskId: string) => backend.storage.list(`outputs/${taskId}/`);

describe('worker lifecycle', () => {
  it('skips a job cancelled while queued', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    await createTaskRepository(backend.storage).writeCancelMarker(taskId);
    const { worker, engine, outcomes } = startTestWorker(backend);
    await waitFor(async () => outcomes.length === 1);
    await worker.stop();
    expect(outcomes).toEqual(['cancelled']);
    expect(engine.calls).toHaveLength(0);
    expect((await createTaskRepository(backend.storage).read(taskId))?.status).toBe('cancelled');
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('aborts a running job when it is cancelled and publishes no result', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    const { worker, outcomes } = startTestWorker(backend, { steps: 100, stepMs: 50 });
    await waitForStatus(backend.storage, taskId, ['processing']);
    const t0 = Date.now();
    await createTaskRepository(backend.storage).writeCancelMarker(taskId);
    await waitFor(async () => outcomes.length === 1);
    const abortMs = Date.now() - t0;
    await worker.stop();
    expect(outcomes).toEqual(['cancelled']);
    // The 5 s job stopped within a few cancel polls, not at its end.
    expect(abortMs).toBeLessThan(2000);
    const record = await createTaskRepository(backend.storage).read(taskId);
    expect(record?.status).toBe('cancelled');
    expect(record?.result).toBeUndefined();
    expect(await outputsOf(backend, taskId)).toEqual([]);
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('finishes the current job on stop when it fits the grace period', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    const { worker, outcomes } = startTestWorker(backend, { steps: 10, stepMs: 80 }, { shutdownGraceMs: 5000 });
    await waitForStatus(backend.storage, taskId, ['processing']);
    await worker.stop();
    expect(outcomes).toEqual(['completed']);
    expect((await createTaskRepository(backend.storage).read(taskId))?.status).toBe('completed');
    expect(worker.state()).toBe('stopped');
  });

  it('releases the message when the job outlasts the grace period, and another worker takes it at once', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    const first = startTestWorker(
      backend,
      { steps: 100, stepMs: 50 },
      { shutdownGraceMs: 200, visibilityTimeoutSeconds: 30 },
    );
    await waitForStatus(backend.storage, taskId, ['processing']);
    const t0 = Date.now();
    await first.worker.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(first.outcomes).toEqual(['released']);
    // Visibility 0: the job is receivable now, not after the 30 s visibility timeout.
    expect(await backend.queue.depth()).toMatchObject({ visible: 1, inFlight: 0 });

    const second = startTestWorker(backend, { steps: 2, stepMs: 10 });
    const done = await waitForStatus(backend.storage, taskId, ['completed'], 10_000);
    await second.worker.stop();
    expect(done.attempts).toBe(2);
    expect(await outputsOf(backend, taskId)).toHaveLength(1);
  });

  it('recovers a job from a worker that died mid-job: another worker finishes it, one output', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    const crashed = startTestWorker(backend, { steps: 100, stepMs: 50 });
    await waitForStatus(backend.storage, taskId, ['processing']);
    await crashed.worker.kill();
    expect(crashed.outcomes).toEqual(['released']);
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 1 });

    const rescuer = startTestWorker(backend, { steps: 2, stepMs: 10 });
    const done = await waitForStatus(backend.storage, taskId, ['completed'], 15_000);
    await rescuer.worker.stop();
    expect(done.attempts).toBe(2);
    expect(done.workerId).not.toBe(undefined);
    expect(rescuer.engine.calls).toHaveLength(1);
    expect(await outputsOf(backend, taskId)).toHaveLength(1);
  });

  it('never lets two workers process the same message, even when jobs outlast the visibility timeout', async () => {
    const backend = await stack.connect();
    const image = await pngImage(8, 8);
    const taskIds = await Promise.all([1, 2, 3].map(() => submitTask(backend, image)));
    // Each job takes ~3 s against a 2 s visibility timeout: only the heartbeat keeps it from redelivery.
    const a = startTestWorker(backend, { steps: 30, stepMs: 100 }, { heartbeatMs: 500 });
    const b = startTestWorker(backend, { steps: 30, stepMs: 100 }, { heartbeatMs: 500 });
    const records = await Promise.all(
      taskIds.map((id) => waitForStatus(backend.storage, id, ['completed', 'failed'], 30_000)),
    );
    await Promise.all([a.worker.stop(), b.worker.stop()]);
    expect(records.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    expect(records.map((r) => r.attempts)).toEqual([1, 1, 1]);
    expect(a.engine.calls.length + b.engine.calls.length).toBe(3);
    expect(a.engine.calls.length).toBeGreaterThan(0);
    expect(b.engine.calls.length).toBeGreaterThan(0);
  });
});
