import {
  type BatchAccepted,
  type BatchCounts,
  type BatchRecord,
  type BatchRejection,
  type BatchStatus,
  type BatchStatusResponse,
  type BatchTaskSummary,
  epochSeconds,
  isTerminalStatus,
  PhotoEnhanceError,
  parseId,
  type TaskRecord,
  taskUrls,
} from '@photoenhance/contracts';
import type { BatchRepository, TaskRepository } from '@photoenhance/core';
import { progressOf } from '../../http/present.ts';
import { mapLimit } from './map-limit.ts';
import { batchUrls } from './urls.ts';

/** Task records read at once per batch: enough to be quick, few enough not to flood S3 for a large batch. */
const READ_CONCURRENCY = 8;

export interface BatchTaskState {
  taskId: string;
  /** null when the record is gone (the task was deleted). */
  task: TaskRecord | null;
}

export interface BatchState {
  record: BatchRecord;
  tasks: BatchTaskState[];
}

/**
 * Remembers tasks that reached a terminal state (they never change again) so a poller — the batch event
 * stream — re-reads only the unfinished ones.
 */
export type TerminalTaskCache = Map<string, TaskRecord | null>;

/** Where batch views read from: the batch record and the (client-visible) task states. */
export interface BatchSource {
  batches: Pick<BatchRepository, 'read'>;
  tasks: Pick<TaskRepository, 'readState'>;
}

export async function readBatchRecord(batches: Pick<BatchRepository, 'read'>, rawId: string): Promise<BatchRecord> {
  const batchId = parseId(rawId, 'batch_task_id');
  const record = await batches.read(batchId);
  if (!record) throw new PhotoEnhanceError('NOT_FOUND', `No batch ${batchId}`);
  return record;
}

export async function readBatchTasks(
  tasks: Pick<TaskRepository, 'readState'>,
  record: BatchRecord,
  cache?: TerminalTaskCache,
): Promise<BatchTaskState[]> {
  return mapLimit(record.taskIds, READ_CONCURRENCY, async (taskId) => {
    if (cache?.has(taskId)) return { taskId, task: cache.get(taskId) ?? null };
    const task = await tasks.readState(taskId);
    if (cache && (!task || isTerminalStatus(task.status))) cache.set(taskId, task);
    return { taskId, task };
  });
}

export async function readBatchState(
  source: BatchSource,
  rawId: string,
  cache?: TerminalTaskCache,
): Promise<BatchState> {
  const record = await readBatchRecord(source.batches, rawId);
  return { record, tasks: await readBatchTasks(source.tasks, record, cache) };
}

export function countTasks(tasks: readonly BatchTaskState[]): BatchCounts {
  const counts: BatchCounts = { queued: 0, processing: 0, completed: 0, failed: 0, cancelled: 0, deleted: 0 };
  for (const { task } of tasks) counts[task ? task.status : 'deleted']++;
  return counts;
}

/** See BATCH_STATUSES; files refused at upload count as failures once everything else has finished. */
export function batchStatus(counts: BatchCounts, total: number, rejected: number): BatchStatus {
  const finished = counts.completed + counts.failed + counts.cancelled + counts.deleted;
  if (finished < total) return counts.queued === total ? 'queued' : 'processing';
  if (counts.completed === total && rejected === 0) return 'completed';
  if (counts.completed > 0) return 'partial_completed';
  if (counts.failed > 0 || rejected > 0) return 'failed';
  return 'cancelled';
}

function summarize(state: BatchTaskState, baseUrl: string | undefined): BatchTaskSummary {
  const { task, taskId } = state;
  if (!task) return { task_id: taskId, status: 'deleted', progress: 1, percent: 100, error: null, stage: 'deleted' };
  const summary: BatchTaskSummary = {
    task_id: taskId,
    filename: task.input.filename,
    status: task.status,
    ...(isTerminalStatus(task.status) ? { progress: 1, percent: 100 } : progressOf(task)),
    error: task.error?.message ?? null,
    stage: task.stage,
    updated_at: task.updatedAt,
  };
  if (task.status === 'completed') summary.download_url = taskUrls(baseUrl, taskId).download;
  if (task.error) summary.error_code = task.error.code;
  return summary;
}

/** Milliseconds of the newest change in the batch: grows with every task update (the SSE event id). */
export function batchVersion(state: BatchState): number {
  let newest = Date.parse(state.record.createdAt);
  for (const { task } of state.tasks) if (task) newest = Math.max(newest, Date.parse(task.updatedAt));
  return newest;
}

function batchMessage(status: BatchStatus, completed: number, failed: number, total: number): string {
  switch (status) {
    case 'queued':
      return `Batch queued: ${total} files`;
    case 'processing':
      return `Processing: ${completed} of ${total} files done, ${failed} failed`;
    case 'cancelled':
      return 'Batch cancelled';
    default:
      return `Batch finished: ${completed} of ${total} files enhanced, ${failed} failed`;
  }
}

/**
 * The batch status body: PhotoEnhanceAI's fields with its units (files sent, refused ones included, in
 * total_files and failed_files; progress 0–1; epoch seconds) plus this API's per-status counts and links.
 */
export function presentBatch(state: BatchState, baseUrl: string | undefined): BatchStatusResponse {
  const { record, tasks } = state;
  const subTasks = tasks.map((t) => summarize(t, baseUrl));
  const counts = countTasks(tasks);
  const rejected = record.rejected.length;
  const status = batchStatus(counts, tasks.length, rejected);
  const percent =
    Math.round((subTasks.reduce((sum, t) => sum + t.percent, 0) / Math.max(1, subTasks.length)) * 10) / 10;
  const totalFiles = tasks.length + rejected;
  const failedFiles = counts.failed + counts.cancelled + counts.deleted + rejected;
  const updatedAt = new Date(batchVersion(state)).toISOString();
  return {
    batch_task_id: record.batchId,
    status,
    total_files: totalFiles,
    completed_files: counts.completed,
    failed_files: failedFiles,
    progress: Math.round(percent * 10) / 1000,
    percent,
    message: batchMessage(status, counts.completed, failedFiles, totalFiles),
    sub_tasks: subTasks,
    created_at: epochSeconds(record.createdAt),
    updated_at: epochSeconds(updatedAt),
    batch_id: record.batchId,
    total: tasks.length,
    counts,
    created_at_iso: record.createdAt,
    updated_at_iso: updatedAt,
    download_url: batchUrls(baseUrl, record.batchId).download,
    rejected: record.rejected.map((r) => ({ index: r.index, filename: r.filename, error: r.error })),
  };
}

export interface AcceptedBatch {
  batchId: string;
  createdAt: string;
  accepted: readonly { taskId: string; filename: string }[];
  rejected: readonly BatchRejection[];
  filesSent: number;
  baseUrl: string | undefined;
}

/** The answer to POST /api/v1/enhance/batch: PhotoEnhanceAI's BatchTaskResponse plus this API's links. */
export function presentBatchAccepted(batch: AcceptedBatch): BatchAccepted {
  const urls = batchUrls(batch.baseUrl, batch.batchId);
  return {
    batch_task_id: batch.batchId,
    total_files: batch.filesSent,
    status: 'queued',
    message: `${batch.accepted.length} of ${batch.filesSent} files queued; poll status_url until the batch has finished, then fetch download_url for a ZIP`,
    created_at: epochSeconds(batch.createdAt),
    sub_tasks: batch.accepted.map((a) => a.taskId),
    batch_id: batch.batchId,
    created_at_iso: batch.createdAt,
    status_url: urls.status,
    events_url: urls.events,
    download_url: urls.download,
    tasks: batch.accepted.map(({ taskId, filename }) => {
      const task = taskUrls(batch.baseUrl, taskId);
      return { task_id: taskId, filename, status_url: task.status, download_url: task.download };
    }),
    rejected: batch.rejected.map((r) => ({ index: r.index, filename: r.filename, error: r.error })),
  };
}
