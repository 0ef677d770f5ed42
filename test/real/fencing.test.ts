/**
 * Fencing on a store that enforces conditional writes (MinIO): the start-up probe says so, and the fencing
 * scenarios pass on both paths — If-Match on the record's ETag, and the read-then-write fallback that fauxqs gets.
 */
import { keys } from '@photoenhance/core';
import { afterAll, describe, expect, it } from 'vitest';
import { fencingScenarios } from '../../services/gpu-worker/tests/fencing-scenarios.ts';
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
  describe('conditional (If-Match on the ETag)', () => fencingScenarios(connect, 'conditional'));
  describe('read-then-write fallback', () => fencingScenarios(connect, 'read-then-write'));
});
