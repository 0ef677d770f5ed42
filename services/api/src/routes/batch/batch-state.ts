import {
  type BatchCounts,
  type BatchRecord,
  type BatchStatus,
  type BatchStatusResponse,
  type BatchTaskSummary,
  isTerminalStatus,
  PhotoEnhanceError,
  parseId,
  type TaskRecord,
  taskErrorView,
  taskUrls,
} from '@photoenhance/contracts';
import type { BatchRepository, TaskRepository } from '@photoenhance/core';
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
  if (counts.completed > 0) return 'partial';
  if (counts.failed > 0 || rejected > 0) return 'failed';
  return 'cancelled';
}

function summarize(state: BatchTaskState, baseUrl: string | undefined): BatchTaskSummary {
  const { task, taskId } = state;
  if (!task) return { task_id: taskId, status: 'deleted', progress: 100, stage: 'deleted' };
  const summary: BatchTaskSummary = {
    task_id: taskId,
    filename: task.input.filename,
    status: task.status,
    progress: isTerminalStatus(task.status) ? 100 : task.progress,
    stage: task.stage,
    updated_at: task.updatedAt,
  };
  if (task.status === 'completed') summary.download_url = taskUrls(baseUrl, taskId).download;
  if (task.error) summary.error = taskErrorView(task.error);
  return summary;
}

/** Milliseconds of the newest change in the batch: grows with every task update (the SSE event id). */
export function batchVersion(state: BatchState): number {
  let newest = Date.parse(state.record.createdAt);
  for (const { task } of state.tasks) if (task) newest = Math.max(newest, Date.parse(task.updatedAt));
  return newest;
}

export function presentBatch(state: BatchState, baseUrl: string | undefined): BatchStatusResponse {
  const { record, tasks } = state;
  const summaries = tasks.map((t) => summarize(t, baseUrl));
  const counts = countTasks(tasks);
  const progress = summaries.reduce((sum, t) => sum + t.progress, 0) / Math.max(1, summaries.length);
  return {
    batch_id: record.batchId,
    status: batchStatus(counts, tasks.length, record.rejected.length),
    progress: Math.round(progress * 10) / 10,
    total: tasks.length,
    counts,
    created_at: record.createdAt,
    updated_at: new Date(batchVersion(state)).toISOString(),
    download_url: batchUrls(baseUrl, record.batchId).download,
    tasks: summaries,
    rejected: record.rejected.map((r) => ({ index: r.index, filename: r.filename, error: r.error })),
  };
}
