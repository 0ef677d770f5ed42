import { EnhanceOptionsSchema, type TaskRecordInput } from '@photoenhance/contracts';
import { keys } from '@photoenhance/core';

/** A small photo task's record as a worker leaves it after its claim: what the watch benches rewrite and read. */
export function runningTaskRecord(taskId: string, attemptId: string, now: string, progress = 0): TaskRecordInput {
  return {
    taskId,
    status: 'processing',
    stage: 'upscale',
    progress,
    attempts: 1,
    attemptId,
    options: EnhanceOptionsSchema.parse({ scale: 1 }),
    input: {
      key: keys.input(taskId, 'p.png'),
      filename: 'p.png',
      contentType: 'image/png',
      bytes: 100,
      width: 16,
      height: 12,
      format: 'png',
    },
    createdAt: now,
    startedAt: now,
    updatedAt: now,
  };
}
