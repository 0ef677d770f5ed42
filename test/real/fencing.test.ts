/**
 * Fencing on a store that enforces conditional writes (MinIO): the start-up probe says so, and the fencing
 * scenarios pass on both paths — If-Match on the record's ETag, and the read-then-write fallback that fauxqs gets.
 */
import { createTaskRepository, keys } from '@photoenhance/core';
import { afterAll, describe, expect, it } from 'vitest';
import { countRecordRequests, fencingScenarios } from '../../services/gpu-worker/tests/fencing-scenarios.ts';
import { pngImage, submitTask } from '../../services/gpu-worker/tests/support.ts';
import type { Stack } from '../harness/stack.ts';
import { startRealStack } from './servers.ts';

const stacks: Stack[] = [];
afterAll(async () => {
  await Promise.all(stacks.map((s) => s.stop()));
});

/** A stack (own queue + DLQ) per scenario: a released message of one must not reach the next one's worker. */
async function connect() {
  const stack = await startRealStack({ api: false });
  stacks.push(stack);
  return stack.backend;
}

describe('fencing against MinIO', () => {
  it('the probe finds conditional writes enforced (If-Match and If-None-Match: * refused with 412)', async () => {
    const backend = await connect();
    expect(await backend.storage.probeConditionalWrites(keys.conditionalWriteProbe)).toBe(true);
  });
  it('the cancel is in the record: one read per client state, a running task shows cancelled, a finished one hides its result', async () => {
    const backend = await connect();
    const { storage, counts } = countRecordRequests(backend.storage);
    const tasks = createTaskRepository(storage);
    const taskId = await submitTask(backend, await pngImage(8, 8));
    const queued = await tasks.read(taskId);
    if (!queued) throw new Error('no record');
    await tasks.write({ ...queued, status: 'processing', attemptId: 'a1', updatedAt: new Date().toISOString() });
    const before = { ...counts };
    expect((await tasks.readState(taskId))?.status).toBe('processing');
    expect(counts.reads - before.reads).toBe(1);
    expect(counts.markerReads - before.markerReads).toBe(0);

    await tasks.requestCancel(taskId, { reason: 'test' });
    const stored = await tasks.read(taskId);
    expect(stored).toMatchObject({ status: 'processing', attemptId: 'a1', cancelRequested: true });
    expect(await tasks.readState(taskId)).toMatchObject({ status: 'cancelled', cancelRequested: true });

    // Finished meanwhile (the cancel raced the last write): flagged too, and its result is not shown.
    const other = await submitTask(backend, await pngImage(8, 8));
    const record = await tasks.read(other);
    if (!record) throw new Error('no record');
    const result = {
      key: keys.output(other, 'photo.png', 'png'),
      filename: 'photo.png',
      bytes: 1,
      format: 'png' as const,
      width: 8,
      height: 8,
      faces: { detected: 0, restored: 0 },
    };
    await tasks.write({ ...record, status: 'completed', attemptId: 'a2', result, updatedAt: new Date().toISOString() });
    await tasks.requestCancel(other);
    const state = await tasks.readState(other);
    expect(state?.status).toBe('cancelled');
    expect(state?.result).toBeUndefined();
  });
  describe('conditional (If-Match on the ETag)', () => fencingScenarios(connect, 'conditional'));
  describe('read-then-write fallback', () => fencingScenarios(connect, 'read-then-write'));
});
