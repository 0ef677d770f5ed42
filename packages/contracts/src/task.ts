import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors/errors.ts';
import { BatchIdSchema, OwnerIdSchema, TaskIdSchema } from './ids.ts';
import { EnhanceOptionsSchema, FaceReportSchema } from './options.ts';
import { TASK_STATUSES } from './task-states.ts';
import { VideoTaskInfoSchema } from './video.ts';

export const TaskStatusSchema = z.enum(TASK_STATUSES);

const IsoTimestamp = z.iso.datetime({ offset: true });
const NonNegativeInt = z.number().int().min(0);

export const ImageFormatSchema = z.string().min(1).max(16);

export const InputInfoSchema = z.object({
  key: z.string().min(1),
  /** Sanitised original file name (safeName); shown to users, used for the output name. */
  filename: z.string().min(1),
  contentType: z.string().min(1),
  bytes: NonNegativeInt,
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  format: ImageFormatSchema,
});
export type InputInfo = z.infer<typeof InputInfoSchema>;

export const ResultInfoSchema = z.object({
  key: z.string().min(1),
  filename: z.string().min(1),
  bytes: NonNegativeInt,
  format: ImageFormatSchema,
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  faces: FaceReportSchema,
  models: z.array(z.string()).default([]),
  /** Seconds per engine stage. */
  timings: z.record(z.string(), z.number()).default({}),
  warnings: z.array(z.string()).default([]),
});
export type ResultInfo = z.infer<typeof ResultInfoSchema>;

export const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

export const TaskErrorSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
});
export type TaskError = z.infer<typeof TaskErrorSchema>;

/**
 * The task record stored at tasks/{taskId}.json.
 *
 * Ownership (no conditional writes exist on fauxqs, so correctness comes from one writer per object):
 * - the API writes the record once, at creation (status queued);
 * - from then on only the worker that holds the SQS message writes it (processing, progress, result, error),
 *   and only while the record still carries its own `attemptId` (set when it claimed the task);
 * - cancellation is a SEPARATE object tasks/{taskId}.cancel written only by the API. Readers merge the two
 *   with effectiveTask(): a cancel marker turns a non-terminal record into `cancelled` whatever the worker
 *   wrote last, and the worker polls the marker to stop early. The API additionally rewrites a record that
 *   is still `queued` as `cancelled`, and — on stores that enforce If-Match — sets `cancelRequested` on a
 *   claimed one, always If-Match on the version it read, so no worker write is lost; a fencing worker then
 *   learns of the cancel from its own refused write (TaskRepository.requestCancel, docs/design.md §7).
 */
export const TaskRecordSchema = z.object({
  version: z.literal(1).default(1),
  taskId: TaskIdSchema,
  batchId: BatchIdSchema.optional(),
  /** The tenant (API key id) that created the task; absent when the API runs without keys. Only it sees the task. */
  owner: OwnerIdSchema.optional(),
  status: TaskStatusSchema,
  /** 0–100. */
  progress: z.number().min(0).max(100).default(0),
  /** queued, one of the engine stages, store, done… free text so workers can add finer stages. */
  stage: z.string().min(1).max(64).default('queued'),
  /** Human-readable line for the current state (seed field `message`). */
  message: z.string().max(500).optional(),
  options: EnhanceOptionsSchema,
  input: InputInfoSchema,
  result: ResultInfoSchema.optional(),
  error: TaskErrorSchema.optional(),
  /** Deliveries of the job so far (SQS ApproximateReceiveCount as seen by the worker). */
  attempts: NonNegativeInt.default(0),
  workerId: z.string().max(200).optional(),
  /**
   * Fencing token of the delivery that last claimed the task (random per claim). A worker writes only over the
   * version it last wrote (If-Match on its ETag, where the store enforces conditional writes), else re-reads the
   * record before each write, and stops when another delivery's token is there: an older attempt never
   * overwrites a newer one.
   */
  attemptId: z.string().max(100).optional(),
  createdAt: IsoTimestamp,
  startedAt: IsoTimestamp.optional(),
  updatedAt: IsoTimestamp,
  completedAt: IsoTimestamp.optional(),
  cancelRequested: z.boolean().optional(),
  /** Client webhook (callback_url), checked against the SSRF policy when accepted; the worker POSTs to it. */
  callbackUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  /** Video tasks only: probe, segment plan, output settings and frame progress (contracts/video.ts). */
  video: VideoTaskInfoSchema.optional(),
});
export type TaskRecord = z.infer<typeof TaskRecordSchema>;
export type TaskRecordInput = z.input<typeof TaskRecordSchema>;

/** tasks/{taskId}.cancel — written only by the API. */
export const CancelMarkerSchema = z.object({
  taskId: TaskIdSchema,
  requestedAt: IsoTimestamp,
  reason: z.string().max(200).optional(),
});
export type CancelMarker = z.infer<typeof CancelMarkerSchema>;

/** The state clients see: the worker-owned record with the API-owned cancel marker applied. */
export function effectiveTask(record: TaskRecord, marker: CancelMarker | null): TaskRecord {
  if (!marker || record.status === 'cancelled') return marker ? { ...record, cancelRequested: true } : record;
  return {
    ...record,
    status: 'cancelled',
    stage: 'cancelled',
    message: 'Task cancelled',
    cancelRequested: true,
    completedAt: record.completedAt ?? marker.requestedAt,
    updatedAt: marker.requestedAt > record.updatedAt ? marker.requestedAt : record.updatedAt,
    // A result written after the cancel was requested is never served (its objects are deleted).
    result: undefined,
  };
}
