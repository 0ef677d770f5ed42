/**
 * Issue 17 §4: a worker takes the input key from the task record (written by the API), never from the job
 * message, and only under the task's own input prefix — a forged message cannot make it read another task's
 * photo and publish it as a result.
 */
import { EnhanceOptionsSchema, type TaskRecord } from '@photoenhance/contracts';
import { keys } from '@photoenhance/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollStatus, uploadImage } from '../harness/client.ts';
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

async function queued(width: number, height: number, name: string): Promise<{ taskId: string; inputKey: string }> {
  const upload = await uploadImage(stack.apiUrl, await testPhoto(width, height), { ...FAST_FORM, scale: '2' }, name);
  expect(upload.status).toBe(200);
  const taskId = upload.body.task_id as string;
  const [input] = await stack.backend.storage.list(keys.inputPrefix(taskId));
  return { taskId, inputKey: input?.key ?? '' };
}

/** Takes every job out of the queue (the tasks stay queued, their records untouched). */
async function drainQueue(): Promise<void> {
  for (;;) {
    const jobs = await stack.backend.queue.receive({ waitTimeSeconds: 0, max: 10 });
    if (jobs.length === 0) return;
    for (const job of jobs) await stack.backend.queue.delete(job.receiptHandle);
  }
}

describe('worker input', () => {
  it("ignores a forged message naming another task's photo, and reads its own record's input", async () => {
    const other = await queued(48, 32, 'someone-else.png');
    const mine = await queued(24, 16, 'mine.png');
    // Only a forged job for "mine", pointing at the other task's photo, is left in the queue: the genuine
    // jobs are taken out, so the worker's only way to "mine" is the forged message.
    await drainQueue();
    await stack.backend.queue.send({
      version: 1,
      taskId: mine.taskId,
      inputKey: other.inputKey,
      options: EnhanceOptionsSchema.parse({ scale: 2, quality: 'fast', face: { enabled: false } }),
    });
    const worker = await stack.startWorker({ engine });
    try {
      const done = await pollStatus(stack.apiUrl, mine.taskId, { until: ['completed', 'failed'] });
      expect(done.final.status).toBe('completed');
      // 24×16 at ×2: its own photo, not the other's 48×32 (which would give 96×64).
      expect(done.final.result).toMatchObject({ width: 48, height: 32, filename: 'mine_enhanced.png' });
      expect((await stack.backend.storage.list(keys.outputPrefix(mine.taskId))).map((o) => o.key)).toEqual([
        `${keys.outputPrefix(mine.taskId)}mine_enhanced.png`,
      ]);
    } finally {
      await worker.stop();
    }
  });

  it('fails a task whose record names an input outside its own task, without reading it', async () => {
    const other = await queued(40, 24, 'private.png');
    const target = await queued(20, 12, 'target.png');
    const recordKey = keys.taskRecord(target.taskId);
    const record = (await stack.backend.storage.readJson(recordKey, (v) => v as TaskRecord)) as TaskRecord;
    await stack.backend.storage.writeJson(recordKey, { ...record, input: { ...record.input, key: other.inputKey } });
    const worker = await stack.startWorker({ engine });
    try {
      const { final } = await pollStatus(stack.apiUrl, target.taskId, { until: ['completed', 'failed'] });
      expect(final.status).toBe('failed');
      expect(final.error_code).toBe('INVALID_INPUT');
      expect(await stack.backend.storage.list(keys.outputPrefix(target.taskId))).toEqual([]);
    } finally {
      await worker.stop();
    }
  });
});
