import {
  type EnhanceOptions,
  type OwnerId,
  planSegments,
  type TaskRecordInput,
  type VideoOutputOptions,
  type VideoProbe,
} from '@photoenhance/contracts';
import type { JobQueue, TaskRepository } from '@photoenhance/core';

export interface VideoSubmission {
  /** The caller's owner id (tenant); absent when the API runs without keys. Only that tenant sees the task. */
  owner?: OwnerId | undefined;
  taskId: string;
  inputKey: string;
  filename: string;
  bytes: number;
  probe: VideoProbe;
  options: EnhanceOptions;
  output: VideoOutputOptions;
  smoothFaces: boolean;
  segmentFrames: number;
  callbackUrl?: string | undefined;
  now?: Date;
}

/** The record a video task starts with (status queued): the probe, the segment plan and the output settings. */
export function queuedVideoRecord(input: VideoSubmission): TaskRecordInput {
  const now = (input.now ?? new Date()).toISOString();
  return {
    taskId: input.taskId,
    status: 'queued',
    progress: 0,
    stage: 'queued',
    options: input.options,
    input: {
      key: input.inputKey,
      filename: input.filename,
      contentType: input.probe.container.includes('matroska') ? 'video/x-matroska' : 'video/mp4',
      bytes: input.bytes,
      width: input.probe.width,
      height: input.probe.height,
      format: input.probe.codec,
    },
    attempts: 0,
    video: {
      probe: input.probe,
      output: input.output,
      smoothFaces: input.smoothFaces,
      segments: planSegments(input.probe.frameCount, input.segmentFrames),
      framesTotal: input.probe.frameCount,
    },
    ...(input.owner ? { owner: input.owner } : {}),
    ...(input.callbackUrl ? { callbackUrl: input.callbackUrl } : {}),
    createdAt: now,
    updatedAt: now,
  };
}

/** Segment jobs in flight at once while a video is queued. */
const SEND_CONCURRENCY = 8;

/**
 * Queues a stored, probed video: one job per segment, then the record — the photo order (input → jobs →
 * record), so a record never exists without its jobs; a job whose record never comes is dropped by the worker.
 */
export async function submitVideo(
  deps: { queue: Pick<JobQueue, 'send'>; tasks: Pick<TaskRepository, 'write'> },
  input: VideoSubmission,
): Promise<TaskRecordInput> {
  const record = queuedVideoRecord(input);
  // Sent SEND_CONCURRENCY at a time, not one by one: workers receive the first segments at once and wait for
  // the record, which comes only after the last send (SQS has no batch send in JobQueue; 10 per batch anyway).
  const pending = [...(record.video?.segments ?? [])];
  const sender = async () => {
    for (let segment = pending.shift(); segment; segment = pending.shift()) {
      await deps.queue.send({
        version: 1,
        kind: 'video-segment',
        taskId: input.taskId,
        inputKey: input.inputKey,
        segment,
      });
    }
  };
  await Promise.all(Array.from({ length: SEND_CONCURRENCY }, sender));
  await deps.tasks.write(record);
  return record;
}
