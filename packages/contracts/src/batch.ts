import { z } from 'zod';
import { BatchIdSchema, OwnerIdSchema, TaskIdSchema } from './ids.ts';
import { ErrorCodeSchema, TaskErrorSchema, TaskStatusSchema } from './task.ts';

const IsoTimestamp = z.iso.datetime({ offset: true });

/** A file of a batch upload that was refused at upload time (the others still run). */
export const BatchRejectionSchema = z.object({
  /** Position of the file in the multipart body, 0-based. */
  index: z.number().int().min(0),
  filename: z.string(),
  error: TaskErrorSchema,
});
export type BatchRejection = z.infer<typeof BatchRejectionSchema>;

/**
 * batches/{batchId}.json — written once by the API when the batch is created; the tasks' own records carry
 * their state (each is a normal task with batchId set), so the batch record never needs a second writer.
 */
export const BatchRecordSchema = z.object({
  version: z.literal(1).default(1),
  batchId: BatchIdSchema,
  /** The tenant that made the batch; only it sees the batch (absent without API keys). */
  owner: OwnerIdSchema.optional(),
  /** In upload order; the ZIP and the status list keep this order. */
  taskIds: z.array(TaskIdSchema).min(1),
  rejected: z.array(BatchRejectionSchema).default([]),
  createdAt: IsoTimestamp,
});
export type BatchRecord = z.infer<typeof BatchRecordSchema>;
export type BatchRecordInput = z.input<typeof BatchRecordSchema>;

/**
 * queued/processing while any task is unfinished; once all are finished: completed (all completed),
 * partial_completed (some completed: PhotoEnhanceAI's word), failed (none completed, some failed) or cancelled
 * (all cancelled or deleted).
 */
export const BATCH_STATUSES = [
  'queued',
  'processing',
  'completed',
  'partial_completed',
  'failed',
  'cancelled',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export const BatchStatusSchema = z.enum(BATCH_STATUSES);
export const TERMINAL_BATCH_STATUSES: ReadonlySet<BatchStatus> = new Set([
  'completed',
  'partial_completed',
  'failed',
  'cancelled',
]);

/** A task of a batch as the batch routes show it; `deleted` when its record is gone (DELETE /tasks/{id}). */
export const BatchTaskStatusSchema = z.union([TaskStatusSchema, z.literal('deleted')]);
export type BatchTaskStatus = z.infer<typeof BatchTaskStatusSchema>;

/**
 * One task of a batch (`sub_tasks[]`): PhotoEnhanceAI's task_id, filename, status, progress (0–1) and error
 * (text or null), plus `percent` (0–100), `error_code`, stage, update time and download link.
 */
export const BatchTaskSummarySchema = z.object({
  task_id: z.string(),
  filename: z.string().optional(),
  status: BatchTaskStatusSchema,
  progress: z.number().min(0).max(1),
  percent: z.number().min(0).max(100),
  error: z.string().nullable(),
  error_code: ErrorCodeSchema.optional(),
  stage: z.string(),
  updated_at: z.string().optional(),
  download_url: z.string().optional(),
});
export type BatchTaskSummary = z.infer<typeof BatchTaskSummarySchema>;

export const BatchCountsSchema = z.object({
  queued: z.number().int(),
  processing: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  deleted: z.number().int(),
});
export type BatchCounts = z.infer<typeof BatchCountsSchema>;

const BatchRejectionBodySchema = z.object({
  index: z.number().int(),
  filename: z.string(),
  error: z.object({ code: ErrorCodeSchema, message: z.string() }),
});

const EpochSeconds = z.number().nonnegative();

/**
 * 200 answer to POST /api/v1/enhance/batch: PhotoEnhanceAI's BatchTaskResponse (batch_task_id, total_files,
 * status, message, created_at in epoch seconds, sub_tasks = the task ids) plus this API's links, per-file
 * entries and upload refusals. `batch_id` is the same id under this API's name.
 */
export const BatchAcceptedSchema = z.object({
  batch_task_id: z.string(),
  total_files: z.number().int(),
  status: z.literal('queued'),
  message: z.string(),
  created_at: EpochSeconds,
  sub_tasks: z.array(z.string()),
  batch_id: z.string(),
  created_at_iso: z.string(),
  status_url: z.string(),
  events_url: z.string(),
  download_url: z.string(),
  tasks: z.array(
    z.object({ task_id: z.string(), filename: z.string(), status_url: z.string(), download_url: z.string() }),
  ),
  rejected: z.array(BatchRejectionBodySchema),
});
export type BatchAccepted = z.infer<typeof BatchAcceptedSchema>;

/**
 * GET /api/v1/batch/status/{batch_task_id}: PhotoEnhanceAI's BatchTaskStatus (total_files = every file sent,
 * refused ones included; failed_files = failed, cancelled, deleted and refused; progress 0–1; epoch-second
 * timestamps; sub_tasks as objects) plus `percent`, per-status `counts`, `*_at_iso`, the ZIP link and refusals.
 */
export const BatchStatusResponseSchema = z.object({
  batch_task_id: z.string(),
  status: BatchStatusSchema,
  total_files: z.number().int(),
  completed_files: z.number().int(),
  failed_files: z.number().int(),
  /** Mean task progress as a fraction 0–1, finished tasks counting 1. */
  progress: z.number().min(0).max(1),
  percent: z.number().min(0).max(100),
  message: z.string(),
  sub_tasks: z.array(BatchTaskSummarySchema),
  created_at: EpochSeconds,
  updated_at: EpochSeconds,
  batch_id: z.string(),
  /** Tasks of the batch (files accepted at upload). */
  total: z.number().int(),
  counts: BatchCountsSchema,
  created_at_iso: z.string(),
  updated_at_iso: z.string(),
  download_url: z.string(),
  rejected: z.array(BatchRejectionBodySchema),
});
export type BatchStatusResponse = z.infer<typeof BatchStatusResponseSchema>;

/** manifest.json inside the batch ZIP: what is in the archive and what is not, and why. */
export const BatchManifestSchema = z.object({
  batch_id: z.string(),
  created_at: z.string(),
  generated_at: z.string(),
  files: z.array(z.object({ task_id: z.string(), original: z.string(), file: z.string(), bytes: z.number().int() })),
  failures: z.array(
    z.object({
      /** Absent for a file refused at upload (it never became a task). */
      task_id: z.string().optional(),
      original: z.string().optional(),
      status: z.string(),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
});
export type BatchManifest = z.infer<typeof BatchManifestSchema>;
