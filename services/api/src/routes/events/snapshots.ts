import {
  isTerminalStatus,
  PhotoEnhanceError,
  parseId,
  type TaskProgressEvent,
  type TaskRecord,
  TERMINAL_BATCH_STATUSES,
  taskUrls,
} from '@photoenhance/contracts';
import type { TaskRepository } from '@photoenhance/core';
import { presentTask } from '../../http/present.ts';
import {
  type BatchSource,
  presentBatch,
  readBatchRecord,
  readBatchTasks,
  type TerminalTaskCache,
} from '../batch/batch-state.ts';
import type { Snapshot } from './sse-poller.ts';

/** progress while unfinished; the terminal status itself (completed, failed, cancelled) as the last event. */
export function taskSnapshot(record: TaskRecord, baseUrl: string | undefined, expiresAt?: Date): Snapshot {
  const id = Date.parse(record.updatedAt);
  if (isTerminalStatus(record.status)) {
    return {
      id,
      event: record.status,
      data: presentTask(record, taskUrls(baseUrl, record.taskId).download, expiresAt),
      terminal: true,
      fingerprint: record.status,
    };
  }
  const status = presentTask(record, '');
  const data: TaskProgressEvent = {
    task_id: record.taskId,
    status: record.status,
    stage: record.stage,
    // One decimal, as the worker writes it: small images finish a tile every few hundred milliseconds.
    progress: Math.round(record.progress * 10) / 10,
    message: status.message,
    updated_at: record.updatedAt,
  };
  return { id, event: 'progress', data, terminal: false, fingerprint: `${data.status}|${data.stage}|${data.progress}` };
}

export function taskSnapshotReader(
  tasks: Pick<TaskRepository, 'readState'>,
  rawId: string,
  baseUrl: string | undefined,
  expiresAt?: (record: TaskRecord) => Date | undefined,
): () => Promise<Snapshot> {
  const taskId = parseId(rawId);
  return async () => {
    const record = await tasks.readState(taskId);
    if (!record) throw new PhotoEnhanceError('NOT_FOUND', `No task ${taskId}`);
    return taskSnapshot(record, baseUrl, expiresAt?.(record));
  };
}

/**
 * Batch snapshots: the same body as the batch status route; `completed` once every task has finished and
 * at least one succeeded, `failed` / `cancelled` when none did. Finished tasks are read once.
 */
export function batchSnapshotReader(
  source: BatchSource,
  rawId: string,
  baseUrl: string | undefined,
): () => Promise<Snapshot> {
  const cache: TerminalTaskCache = new Map();
  let recordPromise: ReturnType<typeof readBatchRecord> | undefined;
  return async () => {
    recordPromise ??= readBatchRecord(source.batches, rawId);
    const record = await recordPromise.catch((err: unknown) => {
      recordPromise = undefined;
      throw err;
    });
    const tasks = await readBatchTasks(source.tasks, record, cache);
    const body = presentBatch({ record, tasks }, baseUrl);
    const terminal = TERMINAL_BATCH_STATUSES.has(body.status);
    const event = !terminal
      ? 'progress'
      : body.status === 'completed' || body.status === 'partial'
        ? 'completed'
        : body.status;
    return {
      id: Date.parse(body.updated_at),
      event,
      data: body,
      terminal,
      fingerprint: `${body.status}|${body.tasks.map((t) => `${t.status}:${t.stage}:${t.progress}`).join(',')}`,
    };
  };
}
