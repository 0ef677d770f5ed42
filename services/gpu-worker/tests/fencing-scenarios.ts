/**
 * The fencing rules (docs/design.md §4) as scenarios any backend can run, once per fencing path: the embedded
 * fauxqs (no conditional writes: read-then-write) runs them in worker-faults.test.ts, MinIO (conditional writes
 * enforced) runs both paths in test/real/fencing.test.ts.
 */
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { type Backend, createTaskRepository, keys, type Storage } from '@photoenhance/core';
import { expect, it } from 'vitest';
import type { FencingMode } from '../src/ports.ts';
import { pngImage, startTestWorker, submitTask, waitFor, waitForStatus } from './support.ts';

type FencingBackend = Pick<Backend, 'storage' | 'queue'>;

const isRecordKey = (key: string) => key.startsWith('tasks/') && key.endsWith('.json') && !key.includes('_probe');

/** Counts task-record reads and writes, and cancel-marker reads, going through a real storage. */
export function countRecordRequests(storage: Storage) {
  const counts = { reads: 0, writes: 0, markerReads: 0 };
  const counted: Storage = {
    ...storage,
    async readJson(key, parse) {
      if (isRecordKey(key)) counts.reads++;
      if (key.startsWith('tasks/') && key.endsWith('.cancel')) counts.markerReads++;
      return storage.readJson(key, parse);
    },
    async readJsonVersioned(key, parse) {
      if (isRecordKey(key)) counts.reads++;
      return storage.readJsonVersioned(key, parse);
    },
    async writeJson(key, value, conditions) {
      if (isRecordKey(key)) counts.writes++;
      return storage.writeJson(key, value, conditions);
    },
  };
  return { storage: counted, counts };
}

export function fencingScenarios(connect: () => Promise<FencingBackend>, fencing: FencingMode): void {
  const tasksOf = (backend: FencingBackend) => createTaskRepository(backend.storage);

  it(`${fencing}: an older delivery never overwrites a newer one: once another claim is on the record it writes nothing`, async () => {
    const backend = await connect();
    const taskId = await submitTask(backend, await pngImage(8, 8), { scale: 2 });
    // A 10 s job: long enough that the newer claim below lands mid-job even on a loaded 2-core machine. No
    // progress writes meanwhile: on the read-then-write path a write racing the newer claim inside its own
    // read→write round trip would overwrite it (the documented window of that path), which is not what this
    // scenario measures; the job's next write after the newer claim must see it and stop.
    const { worker, outcomes } = startTestWorker(
      backend,
      { steps: 200, stepMs: 50 },
      { visibilityTimeoutSeconds: 30, progressIntervalMs: 60_000 },
      fencing,
    );
    const processing = await waitForStatus(backend.storage, taskId, ['processing']);
    // A newer delivery claims the task (as after a redelivery): its token replaces ours.
    const newer = await tasksOf(backend).write({
      ...processing,
      attempts: 2,
      attemptId: 'newer-delivery',
      workerId: 'other-worker',
      stage: 'upscale',
      progress: 10,
    });
    await waitFor(async () => outcomes.length === 1, { timeoutMs: 30_000 });
    await worker.stop({ graceMs: 0 });
    expect(outcomes).toEqual(['released']);
    expect(await tasksOf(backend).read(taskId)).toEqual(newer);
    // With no write between the newer claim and the end of the job, the older run may have stored its result
    // before its final write found the newer claim: only at the task's one deterministic key, which the newer
    // delivery writes too (design.md §4), and never published by the record.
    const outputs = (await backend.storage.list(`outputs/${taskId}/`)).map((o) => o.key);
    expect(outputs.every((key) => key === `outputs/${taskId}/photo_enhanced.png`)).toBe(true);
  });

  it(`${fencing}: a failed task is never written over a completed one by a late, failing delivery`, async () => {
    const backend = await connect();
    const taskId = await submitTask(backend, await pngImage(8, 8), { scale: 2 });
    const { worker, outcomes } = startTestWorker(
      backend,
      // A 6 s job: the completed record below must land while it still runs, even on a loaded machine.
      { steps: 120, stepMs: 50, failWith: () => new PhotoEnhanceError('CORRUPT_IMAGE', 'broken') },
      { visibilityTimeoutSeconds: 30, progressIntervalMs: 10_000 },
      fencing,
    );
    const processing = await waitForStatus(backend.storage, taskId, ['processing']);
    const completed = await tasksOf(backend).write({ ...processing, status: 'completed', stage: 'done' });
    expect(outcomes).toEqual([]); // still running when the newer record was written
    await waitFor(async () => outcomes.length === 1, { timeoutMs: 30_000 });
    await worker.stop();
    expect(outcomes).toEqual(['released']);
    expect(await tasksOf(backend).read(taskId)).toEqual(completed);
  });

  it(`${fencing}: record reads per task — one at the claim with conditional writes, one before each write without`, async () => {
    const backend = await connect();
    const taskId = await submitTask(backend, await pngImage(8, 8), { scale: 2 });
    const { storage, counts } = countRecordRequests(backend.storage);
    const { worker, outcomes } = startTestWorker(
      { storage, queue: backend.queue },
      { steps: 6, stepMs: 60 },
      // No lease marker poll within this short job: what is counted is the claim and the upload check.
      { progressIntervalMs: 100, cancelPollMs: 600_000 },
      fencing,
    );
    await waitFor(async () => outcomes.length === 1, { timeoutMs: 20_000 });
    await worker.stop();
    expect(outcomes).toEqual(['completed']);
    expect((await tasksOf(backend).read(taskId))?.status).toBe('completed');
    // claim + at least one progress write + store + completed
    expect(counts.writes).toBeGreaterThanOrEqual(4);
    if (fencing === 'conditional') expect(counts.reads).toBe(1);
    else expect(counts.reads).toBe(counts.writes);
    // The cancel is learnt from the record itself with conditional writes (the API's cancel writes it too);
    // without them the marker is read at the claim and after the upload.
    expect(counts.markerReads).toBe(fencing === 'conditional' ? 0 : 2);
  });

  it(`${fencing}: the API's cancel stops a running job, publishes no result, and the record ends cancelled`, async () => {
    const backend = await connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    const { storage, counts } = countRecordRequests(backend.storage);
    const { worker, outcomes } = startTestWorker(
      { storage, queue: backend.queue },
      { steps: 100, stepMs: 50 },
      // With conditional writes no marker poll at all: the refused If-Match of the next progress write is what
      // stops the job. Without them the lease's marker poll does.
      { progressIntervalMs: 100, cancelPollMs: fencing === 'conditional' ? 600_000 : 100 },
      fencing,
    );
    await waitForStatus(backend.storage, taskId, ['processing']);
    await tasksOf(backend).requestCancel(taskId, { conditionalWrites: fencing === 'conditional' });
    await waitFor(async () => outcomes.length === 1, { timeoutMs: 20_000 });
    await worker.stop();
    expect(outcomes).toEqual(['cancelled']);
    const record = await tasksOf(backend).read(taskId);
    expect(record?.status).toBe('cancelled');
    expect(record?.result).toBeUndefined();
    expect(await backend.storage.list(keys.outputPrefix(taskId))).toEqual([]);
    if (fencing === 'conditional') expect(counts.markerReads).toBe(0);
  });

  it(`${fencing}: the API's cancel of a queued task is final: the worker never runs it`, async () => {
    const backend = await connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    await tasksOf(backend).requestCancel(taskId, { conditionalWrites: fencing === 'conditional' });
    const { worker, engine, outcomes } = startTestWorker(backend, {}, {}, fencing);
    await waitFor(async () => outcomes.length === 1, { timeoutMs: 20_000 });
    await worker.stop();
    expect(outcomes).toEqual(['cancelled']);
    expect(engine.calls).toHaveLength(0);
    expect((await tasksOf(backend).read(taskId))?.status).toBe('cancelled');
  });
}
