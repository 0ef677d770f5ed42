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

/**
 * Queues a stored, probed video: one job per segment, then the record — the photo order (input → jobs →
 * record), so a record never exists without its jobs; a job whose record never comes is dropped by the worker.
 */
export async function submitVideo(
  deps: { queue: Pick<JobQueue, 'send'>; tasks: Pick<TaskRepository, 'write'> },
  input: VideoSubmission,
): Promise<TaskRecordInput> {
  const record = queuedVideoRecord(input);
  for (const segment of record.video?.segments ?? []) {
    await deps.queue.send({
      version: 1,
      kind: 'video-segment',
      taskId: input.taskId,
      inputKey: input.inputKey,
      segment,
    });
  }
  await deps.tasks.write(record);
  return record;
}
