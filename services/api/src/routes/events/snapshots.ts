import {
  type BatchRecord,
  isTerminalStatus,
  PhotoEnhanceError,
  type TaskProgressEvent,
  type TaskRecord,
  TERMINAL_BATCH_STATUSES,
  taskUrls,
} from '@photoenhance/contracts';
import { presentTask } from '../../http/present.ts';
import type { TaskWatch } from '../../progress/task-watch-hub.ts';
import { presentBatch } from '../batch/batch-state.ts';
import type { Snapshot } from './sse-poller.ts';

/**
 * The event id of a state: twice its update time in ms, plus one for a final state, so a final state written in
 * the same millisecond as the last progress still has the greater id, and every stream (a resumed one too)
 * gives one state the same id.
 */
export function eventId(updatedAt: string, terminal: boolean): number {
  return Date.parse(updatedAt) * 2 + (terminal ? 1 : 0);
}

/** A video's frames done / total and ETA for its progress events (nothing for a photo). */
function videoFrames(record: TaskRecord): Pick<TaskProgressEvent, 'frames_done' | 'frames_total' | 'eta_seconds'> {
  const video = record.video;
  if (!video) return {};
  return {
    frames_done: video.framesDone,
    frames_total: video.framesTotal,
    ...(video.etaSeconds !== undefined && record.status === 'processing' ? { eta_seconds: video.etaSeconds } : {}),
  };
}

/** progress while unfinished; the terminal status itself (completed, failed, cancelled) as the last event. */
export function taskSnapshot(record: TaskRecord, baseUrl: string | undefined, expiresAt?: Date): Snapshot {
  const id = eventId(record.updatedAt, isTerminalStatus(record.status));
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
    // One decimal of a percent, as the worker writes it: small images finish a tile every few hundred milliseconds.
    progress: status.progress,
    percent: status.percent,
    message: status.message,
    updated_at: record.updatedAt,
    ...videoFrames(record),
  };
  const fingerprint = `${data.status}|${data.stage}|${data.percent}|${data.frames_done ?? ''}`;
  return { id, event: 'progress', data, terminal: false, fingerprint };
}

/** The watched state of one task, or why there is none (NOT_FOUND ends the stream, anything else is retried). */
function watchedRecord(watch: TaskWatch, taskId: string): TaskRecord | null {
  const state = watch.state(taskId);
  if (!state) throw new PhotoEnhanceError('STORAGE_ERROR', `Task ${taskId} not read yet`);
  if ('error' in state) throw state.error;
  return state.record;
}

/** The task stream's snapshot, from the hub's memory (no storage read). */
export function taskSnapshotFromWatch(
  watch: TaskWatch,
  taskId: string,
  baseUrl: string | undefined,
  expiresAt?: (record: TaskRecord) => Date | undefined,
): Snapshot {
  const record = watchedRecord(watch, taskId);
  if (!record) throw new PhotoEnhanceError('NOT_FOUND', `No task ${taskId}`);
  return taskSnapshot(record, baseUrl, expiresAt?.(record));
}

/**
 * Batch snapshots: the same body as the batch status route; `completed` once every task has finished and
 * at least one succeeded, `failed` / `cancelled` when none did. Built from the hub's memory: the batch's tasks
 * are read by the hub's loops (once per change with a channel), finished ones never again.
 */
export function batchSnapshotFromWatch(record: BatchRecord, watch: TaskWatch, baseUrl: string | undefined): Snapshot {
  const tasks = record.taskIds.map((taskId) => ({ taskId, task: watchedRecord(watch, taskId) }));
  const body = presentBatch({ record, tasks }, baseUrl);
  const terminal = TERMINAL_BATCH_STATUSES.has(body.status);
  const event = !terminal
    ? 'progress'
    : body.status === 'completed' || body.status === 'partial_completed'
      ? 'completed'
      : body.status;
  return {
    id: eventId(body.updated_at_iso, terminal),
    event,
    data: body,
    terminal,
    fingerprint: `${body.status}|${body.sub_tasks.map((t) => `${t.status}:${t.stage}:${t.percent}`).join(',')}`,
  };
}
