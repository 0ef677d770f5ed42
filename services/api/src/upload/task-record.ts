import type { EnhanceOptions, TaskRecordInput } from '@photoenhance/contracts';
import type { ProbeResult } from '@photoenhance/image';
import { contentTypeFor } from './validate-upload.ts';

export interface QueuedTaskInput {
  taskId: string;
  batchId?: string;
  inputKey: string;
  /** Already safe (safeName). */
  filename: string;
  bytes: number;
  probe: ProbeResult;
  options: EnhanceOptions;
  /** Already checked with acceptCallbackUrl. */
  callbackUrl?: string | undefined;
  /** The creating caller (owner id of its API key); absent without keys. */
  owner?: string | undefined;
  now?: Date;
}

/** The record a task starts with (status queued), whichever route created it. */
export function queuedTaskRecord(input: QueuedTaskInput): TaskRecordInput {
  const now = (input.now ?? new Date()).toISOString();
  return {
    taskId: input.taskId,
    ...(input.batchId ? { batchId: input.batchId } : {}),
    status: 'queued',
    progress: 0,
    stage: 'queued',
    options: input.options,
    input: {
      key: input.inputKey,
      filename: input.filename,
      contentType: contentTypeFor(input.probe.format),
      bytes: input.bytes,
      width: input.probe.width,
      height: input.probe.height,
      format: input.probe.format,
    },
    attempts: 0,
    ...(input.callbackUrl ? { callbackUrl: input.callbackUrl } : {}),
    ...(input.owner ? { owner: input.owner } : {}),
    createdAt: now,
    updatedAt: now,
  };
}
