import { z } from 'zod';
import { PhotoEnhanceError } from './errors/errors.ts';
import { BatchIdSchema, TaskIdSchema } from './ids.ts';
import { EnhanceOptionsSchema } from './options.ts';
import { SegmentRangeSchema } from './video.ts';

/**
 * SQS job body. Versioned so a worker can refuse (and dead-letter) a shape it does not know instead of
 * misreading it; carries keys only — image bytes never travel through the queue (256 KB limit, cost).
 */
export const JobMessageV1Schema = z.object({
  version: z.literal(1),
  taskId: TaskIdSchema,
  batchId: BatchIdSchema.optional(),
  inputKey: z.string().min(1).max(1024),
  options: EnhanceOptionsSchema,
});
export type JobMessageV1 = z.infer<typeof JobMessageV1Schema>;

/** Photo jobs (the version-1 body above, no `kind`). */
export const PhotoJobMessageSchema = z.discriminatedUnion('version', [JobMessageV1Schema]);
export type PhotoJobMessage = z.infer<typeof PhotoJobMessageSchema>;

/**
 * Video jobs: one per segment (decode its frame range, enhance, encode), then one that joins the segments
 * and copies the sound. The options, probe and segment plan are on the task record, not in the message.
 */
export const VideoSegmentJobV1Schema = z.object({
  version: z.literal(1),
  kind: z.literal('video-segment'),
  taskId: TaskIdSchema,
  inputKey: z.string().min(1).max(1024),
  segment: SegmentRangeSchema,
});
export const VideoAssembleJobV1Schema = z.object({
  version: z.literal(1),
  kind: z.literal('video-assemble'),
  taskId: TaskIdSchema,
  inputKey: z.string().min(1).max(1024),
});
export const VideoJobMessageSchema = z.discriminatedUnion('kind', [VideoSegmentJobV1Schema, VideoAssembleJobV1Schema]);
export type VideoJobMessage = z.infer<typeof VideoJobMessageSchema>;
export type VideoSegmentJob = z.infer<typeof VideoSegmentJobV1Schema>;
export type VideoAssembleJob = z.infer<typeof VideoAssembleJobV1Schema>;

// Video first: its `kind` is required, so a photo body (no kind) never reads as a video job, and a video body
// never falls through to the photo schema (which would drop `kind`).
export const JobMessageSchema = z.union([VideoJobMessageSchema, PhotoJobMessageSchema]);
export type JobMessage = z.infer<typeof JobMessageSchema>;

export function isVideoJob(job: JobMessage): job is VideoJobMessage {
  return 'kind' in job;
}

export function serializeJobMessage(message: JobMessage): string {
  return JSON.stringify(JobMessageSchema.parse(message));
}

/** INVALID_INPUT for bodies that are not JSON or not a known message version (poison messages). */
export function parseJobMessage(body: string): JobMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw new PhotoEnhanceError('INVALID_INPUT', 'Job message is not JSON', { cause });
  }
  const parsed = JobMessageSchema.safeParse(json);
  if (!parsed.success) {
    throw new PhotoEnhanceError('INVALID_INPUT', `Job message is invalid: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
