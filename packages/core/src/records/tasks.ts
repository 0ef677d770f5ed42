import {
  type CancelMarker,
  CancelMarkerSchema,
  effectiveTask,
  type TaskRecord,
  type TaskRecordInput,
  TaskRecordSchema,
} from '@photoenhance/contracts';
import { keys } from '../storage/keys.ts';
import type { Storage } from '../storage/storage.ts';

/** Task records and cancel markers (tasks/{taskId}.json, tasks/{taskId}.cancel): the only module that knows their keys. */
export interface TaskRepository {
  /** The record as last written (null when unknown). */
  read(taskId: string): Promise<TaskRecord | null>;
  /** Validates and writes the record; see the ownership rules on TaskRecordSchema. */
  write(record: TaskRecordInput): Promise<TaskRecord>;
  readCancelMarker(taskId: string): Promise<CancelMarker | null>;
  writeCancelMarker(taskId: string, reason?: string): Promise<CancelMarker>;
  /** What clients see: the record with the cancel marker applied (null when unknown). */
  readState(taskId: string): Promise<TaskRecord | null>;
  /** Removes the record and its cancel marker (inputs and outputs are the caller's). */
  delete(taskId: string): Promise<void>;
}

export function createTaskRepository(store: Pick<Storage, 'readJson' | 'writeJson' | 'delete'>): TaskRepository {
  const tasks: TaskRepository = {
    read: (taskId) => store.readJson(keys.taskRecord(taskId), (v) => TaskRecordSchema.parse(v)),
    async write(input) {
      const record = TaskRecordSchema.parse(input);
      await store.writeJson(keys.taskRecord(record.taskId), record);
      return record;
    },
    readCancelMarker: (taskId) => store.readJson(keys.cancelMarker(taskId), (v) => CancelMarkerSchema.parse(v)),
    async writeCancelMarker(taskId, reason) {
      const marker = CancelMarkerSchema.parse({ taskId, requestedAt: new Date().toISOString(), reason });
      await store.writeJson(keys.cancelMarker(taskId), marker);
      return marker;
    },
    async readState(taskId) {
      const [record, marker] = await Promise.all([tasks.read(taskId), tasks.readCancelMarker(taskId)]);
      return record ? effectiveTask(record, marker) : null;
    },
    async delete(taskId) {
      await store.delete(keys.taskRecord(taskId));
      await store.delete(keys.cancelMarker(taskId));
    },
  };
  return tasks;
}
