import {
  type EnhanceAccepted,
  epochSeconds,
  imageSummary,
  type TaskListResponse,
  type TaskRecord,
  type TaskStatusResponse,
  taskUrls,
} from '@photoenhance/contracts';

function defaultMessage(record: TaskRecord): string {
  switch (record.status) {
    case 'queued':
      return 'Task queued';
    case 'processing':
      return `Processing (${record.stage})`;
    case 'completed':
      return 'Enhancement completed';
    case 'failed':
      return record.error?.message ?? 'Task failed';
    case 'cancelled':
      return 'Task cancelled';
  }
}

/** A record's 0–100 progress as PhotoEnhanceAI's fraction and this API's percent; a completed task is whole. */
export function progressOf(record: Pick<TaskRecord, 'status' | 'progress'>): { progress: number; percent: number } {
  const percent = record.status === 'completed' ? 100 : Math.round(record.progress * 10) / 10;
  return { progress: Math.round(percent * 10) / 1000, percent };
}

/** Seconds from the worker's start to the end (PhotoEnhanceAI's processing_time), once the task has finished. */
function processingTime(record: TaskRecord): number | null {
  if (!record.startedAt || !record.completedAt) return null;
  return Math.max(0, (Date.parse(record.completedAt) - Date.parse(record.startedAt)) / 1000);
}

/**
 * Task record → the status body: PhotoEnhanceAI's fields with its types and units (progress 0–1, error text,
 * epoch seconds) and this API's richer forms under their own names (percent, error_code, *_at_iso, result…).
 */
export function presentTask(record: TaskRecord, downloadUrl: string, expiresAt?: Date): TaskStatusResponse {
  const completed = record.status === 'completed' && record.result !== undefined;
  const body: TaskStatusResponse = {
    task_id: record.taskId,
    status: record.status,
    message: record.message ?? defaultMessage(record),
    ...progressOf(record),
    stage: record.stage,
    result_url: completed ? downloadUrl : null,
    error: record.error?.message ?? null,
    attempts: record.attempts,
    created_at: epochSeconds(record.createdAt),
    updated_at: epochSeconds(record.updatedAt),
    processing_time: processingTime(record),
    created_at_iso: record.createdAt,
    updated_at_iso: record.updatedAt,
    input: imageSummary(record.input),
  };
  if (record.batchId) body.batch_id = record.batchId;
  if (record.error) body.error_code = record.error.code;
  if (record.startedAt) body.started_at = record.startedAt;
  if (record.completedAt) body.completed_at = record.completedAt;
  if (expiresAt) body.expires_at = expiresAt.toISOString();
  if (completed && record.result) {
    const r = record.result;
    body.result = {
      ...imageSummary(r),
      download_url: downloadUrl,
      faces: r.faces,
      models: r.models,
      timings: r.timings,
      warnings: r.warnings,
    };
  }
  return body;
}

/** The answer to a queued single task (POST /api/v1/enhance, direct-upload start). */
export function presentAccepted(taskId: string, createdAt: string, publicBaseUrl: string | undefined): EnhanceAccepted {
  const urls = taskUrls(publicBaseUrl, taskId);
  return {
    task_id: taskId,
    status: 'queued',
    message: 'Task queued; poll status_url until status is completed, then fetch download_url',
    created_at: epochSeconds(createdAt),
    created_at_iso: createdAt,
    status_url: urls.status,
    download_url: urls.download,
  };
}

/** GET /api/v1/tasks: PhotoEnhanceAI's listing shape, newest first. */
export function presentTaskList(records: readonly TaskRecord[]): TaskListResponse {
  const tasks = [...records]
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .map((r) => ({
      task_id: r.taskId,
      status: r.status,
      created_at: epochSeconds(r.createdAt),
      updated_at: epochSeconds(r.updatedAt),
      filename: r.input.filename,
      ...(r.batchId ? { batch_id: r.batchId } : {}),
    }));
  return { total_tasks: tasks.length, tasks };
}
