import { z } from 'zod';
import { EnhanceOptionsSchema, FaceReportSchema } from './options.ts';
import { TASK_STATUSES } from './task-states.ts';

/**
 * Video shapes: what a probe finds in a clip, the limits a clip is checked against and the options of a
 * video task. One schema each, shared by the API (probe at upload), the worker (segments, assembly) and the CLI.
 */

const NonNegativeInt = z.number().int().min(0);
const PositiveInt = z.number().int().min(1);

/** A rational number as ffprobe writes it ("30000/1001"), kept exact: frame timing must not drift. */
export const RationalSchema = z.object({ num: PositiveInt, den: PositiveInt });
export type Rational = z.infer<typeof RationalSchema>;

export const VideoStreamKindSchema = z.enum(['audio', 'subtitle']);

/** A stream copied bit for bit into the result (audio, subtitles). */
export const CopiedStreamSchema = z.object({
  index: NonNegativeInt,
  kind: VideoStreamKindSchema,
  codec: z.string().min(1),
  language: z.string().optional(),
});
export type CopiedStream = z.infer<typeof CopiedStreamSchema>;

export const VideoProbeSchema = z.object({
  /** Container as ffprobe names it ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"). */
  container: z.string().min(1),
  codec: z.string().min(1),
  /** Size of the decoded frames as shown, rotation applied (what the engine sees). */
  width: PositiveInt,
  height: PositiveInt,
  /** Display rotation in degrees as ffprobe reports the display matrix (0, 90, 180, 270); frames are decoded upright. */
  rotation: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]),
  pixelFormat: z.string().min(1),
  /** Bits per sample of the source (8, 10, 12); frames are decoded to 8-bit RGB. */
  bitDepth: PositiveInt,
  /** The stream's time base: every frame time is an integer number of these. */
  timeBase: RationalSchema,
  /** Average frame rate; `constantFrameRate` false when frame durations differ (VFR). */
  frameRate: RationalSchema,
  constantFrameRate: z.boolean(),
  frameCount: PositiveInt,
  durationSeconds: z.number().positive(),
  /** The container's start time in seconds (ffmpeg's -ss counts from it). */
  containerStartSeconds: z.number(),
  /** Presentation time of each frame in time-base units, in display order (from a packet scan). */
  frameTimes: z.array(z.number().int()),
  streams: z.array(CopiedStreamSchema),
});
export type VideoProbe = z.infer<typeof VideoProbeSchema>;

export const VideoLimitsSchema = z.object({
  maxSeconds: z.number().positive(),
  maxFrames: PositiveInt,
  /** Pixels of one input frame. */
  maxInputPixels: PositiveInt,
  /** Pixels of one output frame (input pixels × scale²). */
  maxOutputPixels: PositiveInt,
});
export type VideoLimits = z.infer<typeof VideoLimitsSchema>;

export const DEFAULT_VIDEO_LIMITS: VideoLimits = {
  maxSeconds: 600,
  maxFrames: 18_000,
  maxInputPixels: 3840 * 2160,
  maxOutputPixels: 7680 * 4320,
};

export const VIDEO_CODECS = ['h264'] as const;

/** How the enhanced frames are encoded; audio and subtitles are always copied, never re-encoded. */
export const VideoOutputOptionsSchema = z.object({
  codec: z.enum(VIDEO_CODECS).default('h264'),
  /** x264 constant rate factor: 0 lossless … 51 worst; 18 is visually lossless for most clips. */
  crf: z.number().int().min(0).max(51).default(18),
  /** x264 preset: speed against size at the same quality. */
  preset: z.enum(['ultrafast', 'veryfast', 'fast', 'medium', 'slow']).default('medium'),
});
export type VideoOutputOptions = z.infer<typeof VideoOutputOptionsSchema>;

/** The options of a video task: the photo options for each frame plus how the result is encoded. */
export const VideoOptionsSchema = z.object({
  enhance: EnhanceOptionsSchema.default(EnhanceOptionsSchema.parse({})),
  video: VideoOutputOptionsSchema.default(VideoOutputOptionsSchema.parse({})),
  /** Track faces across frames and smooth their landmarks (steady faces); false = detect each frame anew. */
  smoothFaces: z.boolean().default(true),
});
export type VideoOptions = z.infer<typeof VideoOptionsSchema>;
export type VideoOptionsInput = z.input<typeof VideoOptionsSchema>;

/** The frame range one segment job covers. */
export const SegmentRangeSchema = z.object({
  index: NonNegativeInt,
  start: NonNegativeInt,
  count: PositiveInt,
});
export type SegmentRange = z.infer<typeof SegmentRangeSchema>;

/** Splits a clip into segments of about `size` frames (the last one takes the remainder, never a sliver). */
export function planSegments(frameCount: number, size: number): SegmentRange[] {
  const count = Math.max(1, Math.round(frameCount / Math.max(1, size)));
  const base = Math.floor(frameCount / count);
  const extra = frameCount % count;
  const segments: SegmentRange[] = [];
  let start = 0;
  for (let index = 0; index < count; index++) {
    const n = base + (index < extra ? 1 : 0);
    segments.push({ index, start, count: n });
    start += n;
  }
  return segments;
}

/**
 * What a video task adds to its task record (`video`): the probe the API made, the segment plan and the
 * output settings (the record's `options` are the per-frame photo options), and frame progress for clients.
 */
export const VideoTaskInfoSchema = z.object({
  probe: VideoProbeSchema,
  output: VideoOutputOptionsSchema,
  smoothFaces: z.boolean().default(true),
  segments: z.array(SegmentRangeSchema).min(1),
  /** Frames enhanced so far over all segments, and the total: the progress clients see. */
  framesDone: NonNegativeInt.default(0),
  framesTotal: PositiveInt,
  segmentsDone: NonNegativeInt.default(0),
  /** Seconds left at the recent rate, once there is one. */
  etaSeconds: z.number().min(0).optional(),
});
export type VideoTaskInfo = z.infer<typeof VideoTaskInfoSchema>;
export type VideoTaskInfoInput = z.input<typeof VideoTaskInfoSchema>;

/** One segment's progress (videos/{taskId}/segments/{index}.json): written only by the delivery that holds it. */
export const SegmentRecordSchema = z.object({
  taskId: z.string().min(1),
  index: NonNegativeInt,
  start: NonNegativeInt,
  count: PositiveInt,
  status: z.enum(['running', 'done']),
  framesDone: NonNegativeInt,
  /** Fencing token of the delivery running it (as a photo task's attemptId). */
  attemptId: z.string().max(100),
  workerId: z.string().max(200).optional(),
  /** The encoded segment object, once done. */
  key: z.string().optional(),
  bytes: NonNegativeInt.optional(),
  /** Engine seconds spent on this segment's frames. */
  engineSeconds: z.number().min(0).default(0),
  /** Faces over the segment's frames (detections and restorations summed; the notice when none could be restored). */
  faces: FaceReportSchema.optional(),
  /** Models the engine used (id@variant), as for a photo. */
  models: z.array(z.string()).default([]),
  startedAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type SegmentRecord = z.infer<typeof SegmentRecordSchema>;

/** Multipart text fields of POST /api/v1/videos on top of the photo fields (scale, quality_level, face…). */
export const VideoFormSchema = z.object({
  video_codec: z.enum(VIDEO_CODECS).optional(),
  video_crf: z.coerce.number().int().min(0).max(51).optional(),
  video_preset: VideoOutputOptionsSchema.shape.preset.unwrap().optional(),
  smooth_faces: z.enum(['true', 'false']).optional(),
});
export type VideoForm = z.output<typeof VideoFormSchema>;
export const VIDEO_FORM_FIELDS = Object.keys(VideoFormSchema.shape) as (keyof VideoForm)[];

export function videoOutputFromForm(form: VideoForm): { output: VideoOutputOptions; smoothFaces: boolean } {
  return {
    output: VideoOutputOptionsSchema.parse({
      ...(form.video_codec ? { codec: form.video_codec } : {}),
      ...(form.video_crf !== undefined ? { crf: form.video_crf } : {}),
      ...(form.video_preset ? { preset: form.video_preset } : {}),
    }),
    smoothFaces: form.smooth_faces !== 'false',
  };
}

/** GET /api/v1/videos/{task_id}: a task's state with progress in frames and an ETA. */
export const VideoStatusResponseSchema = z.object({
  task_id: z.string(),
  status: z.enum(TASK_STATUSES),
  progress: z.number(),
  stage: z.string(),
  frames_done: NonNegativeInt,
  frames_total: PositiveInt,
  segments_done: NonNegativeInt,
  segments_total: PositiveInt,
  eta_seconds: z.number().optional(),
  input: z.object({
    filename: z.string(),
    bytes: NonNegativeInt,
    width: PositiveInt,
    height: PositiveInt,
    frames: PositiveInt,
    duration_seconds: z.number(),
    frame_rate: z.string(),
    variable_frame_rate: z.boolean(),
    audio_streams: NonNegativeInt,
  }),
  result: z
    .object({
      filename: z.string(),
      bytes: NonNegativeInt,
      format: z.string(),
      width: PositiveInt,
      height: PositiveInt,
      download_url: z.string(),
    })
    .optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  created_at: z.string(),
  updated_at: z.string(),
  started_at: z.string().optional(),
  completed_at: z.string().optional(),
  events_url: z.string(),
});
export type VideoStatusResponse = z.infer<typeof VideoStatusResponseSchema>;
