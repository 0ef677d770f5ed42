/**
 * The at-least-once rules under the faults seen against real servers (issue 11): slow storage at pickup, a
 * stale receipt handle after redelivery, an older delivery racing a newer one, a job whose record is not
 * written yet, and more than one job per worker.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { newId, PhotoEnhanceError } from '@photoenhance/contracts';
import { createTaskRepository, keys, type Storage } from '@photoenhance/core';
import { describe, expect, it } from 'vitest';
import type { JobOutcome } from '../src/metrics.ts';
import { createWorker } from '../src/worker.ts';
import { fencingScenarios } from './fencing-scenarios.ts';
import {
  createScaleEngine,
  pngImage,
  silentLogger,
  startTestWorker,
  submitTask,
  testTimings,
  useTestBackend,
  waitFor,
  waitForStatus,
} from './support.ts';

const stack = useTestBackend();

const tasksOf = (backend: { storage: Storage }) => createTaskRepository(backend.storage);
const isRecordKey = (key: string) => key.startsWith('tasks/') && key.endsWith('.json');

const staleHandle = () =>
  new PhotoEnhanceError('QUEUE_ERROR', 'Queue delete failed: ReceiptHandleIsInvalid', { retryable: false });

describe('worker under faults', () => {
  describe('fencing (the path fauxqs gets)', () => fencingScenarios(() => stack.connect(), 'read-then-write'));

  it('holds the lease while a slow storage read runs at pickup: no second delivery, one run, attempts 1', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8), { scale: 2 });
    let stalls = 0;
    // The first record read takes twice the lease (2 s): without a heartbeat it would be redelivered meanwhile.
    const slowStorage: Storage = {
      ...backend.storage,
      async readJson(key, parse) {
        if (isRecordKey(key) && stalls++ === 0) await sleep(4000);
        return backend.storage.readJson(key, parse);
      },
    };
    const a = startTestWorker({ storage: slowStorage, queue: backend.queue }, {}, { heartbeatMs: 300 });
    await a.started;
    await sleep(200);
    const b = startTestWorker(backend, {}, { heartbeatMs: 300 });
    const done = await waitForStatus(backend.storage, taskId, ['completed', 'failed'], 15_000);
    await Promise.all([a.worker.stop(), b.worker.stop()]);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(1);
    expect(a.outcomes).toEqual(['completed']);
    expect(b.outcomes).toEqual([]);
    expect(a.engine.calls.length + b.engine.calls.length).toBe(1);
  });

  it('never fails a completed task when the delete is refused (stale receipt); the redelivery is only acknowledged', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8), { scale: 2 });
    let refusals = 0;
    const queue = {
      ...backend.queue,
      async delete(handle: string) {
        if (refusals++ === 0) throw staleHandle();
        return backend.queue.delete(handle);
      },
    };
    const { worker, engine, outcomes } = startTestWorker({ storage: backend.storage, queue });
    const done = await waitForStatus(backend.storage, taskId, ['completed', 'failed']);
    // The undeleted message comes back after the 2 s lease and must be acknowledged, not run or failed.
    await waitFor(async () => outcomes.length === 2, { timeoutMs: 10_000 });
    await worker.stop();
    expect(outcomes).toEqual(['completed', 'skipped']);
    expect(engine.calls).toHaveLength(1);
    expect(await tasksOf(backend).read(taskId)).toEqual(done);
    expect(done.status).toBe('completed');
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('fences with read-then-write on fauxqs: the start-up probe finds no conditional writes there', async () => {
    const backend = await stack.connect();
    expect(await backend.storage.probeConditionalWrites(keys.conditionalWriteProbe)).toBe(false);
    const { worker, started } = startTestWorker(backend);
    await started;
    expect(worker.describe().fencing).toBe('read-then-write');
    await worker.stop();
  });

  it('waits for a record written after the job was sent (the API sends first), and drops a job whose record never comes', async () => {
    const backend = await stack.connect();
    const image = await pngImage(8, 8);
    // Build a task, then move its record write to after the message, as the API now orders it.
    const taskId = await submitTask(backend, image, { scale: 2 });
    const record = await tasksOf(backend).read(taskId);
    if (!record) throw new Error('no record');
    const [sent] = await backend.queue.receive({ waitTimeSeconds: 1 });
    await backend.queue.delete(sent?.receiptHandle ?? '');
    await tasksOf(backend).delete(taskId);
    await backend.queue.send({ version: 1, taskId, inputKey: record.input.key, options: record.options });
    const orphan = newId();
    await backend.queue.send({
      version: 1,
      taskId: orphan,
      inputKey: keys.input(orphan, 'x.png'),
      options: record.options,
    });

    const { worker, outcomes } = startTestWorker(backend, {}, { recordGraceMs: 2500, concurrency: 2 });
    await sleep(800);
    await tasksOf(backend).write(record);
    const done = await waitForStatus(backend.storage, taskId, ['completed', 'failed']);
    await waitFor(async () => outcomes.length === 2, { timeoutMs: 10_000 });
    await worker.stop();
    expect(done.status).toBe('completed');
    expect(outcomes.sort()).toEqual(['completed', 'invalid']);
    expect(await tasksOf(backend).read(orphan)).toBeNull();
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('leaves a permanent failure to redelivery when the failed record cannot be written (storage down)', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    let down = false;
    const storage: Storage = {
      ...backend.storage,
      async writeJson(key, value) {
        if (down && isRecordKey(key)) throw new PhotoEnhanceError('STORAGE_ERROR', 'Storage put failed: TimeoutError');
        return backend.storage.writeJson(key, value);
      },
    };
    const engine = createScaleEngine({
      failWith: () => {
        down = true;
        return new PhotoEnhanceError('CORRUPT_IMAGE', 'broken');
      },
    });
    const outcomes: JobOutcome[] = [];
    const worker = createWorker({
      storage,
      queue: backend.queue,
      engine,
      config: testTimings(),
      logger: silentLogger,
      onJobDone: (o) => outcomes.push(o),
    });
    await worker.start();
    await waitFor(async () => outcomes.length === 1);
    await worker.kill();
    expect(outcomes).toEqual(['retry']);
    expect((await tasksOf(backend).read(taskId))?.status).toBe('processing');
    // Not acknowledged: the job is still in the queue for the next delivery.
    expect(await backend.queue.depth()).toMatchObject({ inFlight: 1 });
  });

  it('runs WORKER_CONCURRENCY=2 jobs at once in one worker, and never more', async () => {
    const backend = await stack.connect();
    const image = await pngImage(8, 8);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await submitTask(backend, image, { scale: 2 }));
    const { worker, outcomes } = startTestWorker(backend, { steps: 10, stepMs: 60 }, { concurrency: 2 });
    let most = 0;
    const sampler = setInterval(() => {
      const n = worker.describe().running;
      most = Math.max(most, n);
    }, 10);
    await waitFor(async () => outcomes.length === 4, { timeoutMs: 15_000 });
    clearInterval(sampler);
    await worker.stop();
    expect(outcomes).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(most).toBe(2);
    for (const id of ids) expect((await tasksOf(backend).read(id))?.status).toBe('completed');
  });
});
