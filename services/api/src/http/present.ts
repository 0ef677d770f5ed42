import { imageSummary, type TaskRecord, type TaskStatusResponse, taskErrorView } from '@photoenhance/contracts';

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

/** Task record → the seed-compatible status body (task_id, status, progress, message, result, error). */
export function presentTask(record: TaskRecord, downloadUrl: string, expiresAt?: Date): TaskStatusResponse {
  const body: TaskStatusResponse = {
    task_id: record.taskId,
    status: record.status,
    progress: record.status === 'completed' ? 100 : Math.round(record.progress),
    stage: record.stage,
    message: record.message ?? defaultMessage(record),
    attempts: record.attempts,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    input: imageSummary(record.input),
  };
  if (record.batchId) body.batch_id = record.batchId;
  if (record.startedAt) body.started_at = record.startedAt;
  if (record.completedAt) body.completed_at = record.completedAt;
  if (expiresAt) body.expires_at = expiresAt.toISOString();
  if (record.status === 'completed' && record.result) {
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
  if (record.error) body.error = taskErrorView(record.error);
  return body;
}
