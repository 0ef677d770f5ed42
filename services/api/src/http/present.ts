import type { TaskRecord, TaskStatusResponse } from '@photoenhance/core';

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
export function presentTask(record: TaskRecord, downloadUrl: string): TaskStatusResponse {
  const body: TaskStatusResponse = {
    task_id: record.taskId,
    status: record.status,
    progress: record.status === 'completed' ? 100 : Math.round(record.progress),
    stage: record.stage,
    message: record.message ?? defaultMessage(record),
    attempts: record.attempts,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    input: {
      filename: record.input.filename,
      format: record.input.format,
      width: record.input.width,
      height: record.input.height,
      bytes: record.input.bytes,
    },
  };
  if (record.batchId) body.batch_id = record.batchId;
  if (record.startedAt) body.started_at = record.startedAt;
  if (record.completedAt) body.completed_at = record.completedAt;
  if (record.status === 'completed' && record.result) {
    const r = record.result;
    body.result = {
      filename: r.filename,
      format: r.format,
      width: r.width,
      height: r.height,
      bytes: r.bytes,
      download_url: downloadUrl,
      faces: r.faces,
      models: r.models,
      timings: r.timings,
      warnings: r.warnings,
    };
  }
  if (record.error) body.error = { code: record.error.code, message: record.error.message };
  return body;
}
