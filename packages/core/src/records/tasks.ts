import {
  type CancelMarker,
  CancelMarkerSchema,
  effectiveTask,
  isPhotoEnhanceError,
  type TaskRecord,
  type TaskRecordInput,
  TaskRecordSchema,
} from '@photoenhance/contracts';
import { keys } from '../storage/keys.ts';
import type { ConditionalWrite, Storage } from '../storage/storage.ts';

/** Task records and cancel markers (tasks/{taskId}.json, tasks/{taskId}.cancel): the only module that knows their keys. */
export interface TaskRepository {
  /** The record as last written (null when unknown). */
  read(taskId: string): Promise<TaskRecord | null>;
  /** Validates and writes the record; see the ownership rules on TaskRecordSchema. */
  write(record: TaskRecordInput): Promise<TaskRecord>;
  /** The record with its version (ETag), for a conditional write after it. */
  readVersioned(taskId: string): Promise<VersionedTask | null>;
  /**
   * write() under a precondition: `ifMatch` = only over that version, `ifNoneMatch: '*'` = only if there is no
   * record yet. A lost precondition is CONFLICT — on stores that enforce them (Storage.probeConditionalWrites).
   */
  writeVersioned(record: TaskRecordInput, conditions: ConditionalWrite): Promise<VersionedTask>;
  readCancelMarker(taskId: string): Promise<CancelMarker | null>;
  writeCancelMarker(taskId: string, reason?: string): Promise<CancelMarker>;
  /**
   * The API's cancel: the marker (authoritative), then the record — `cancelled` while still queued, and on a
   * store that enforces conditional writes also `cancelRequested` on a claimed one. Both record writes are
   * If-Match on the version read, so a worker's claim or progress in between is never overwritten (a refusal is
   * read again, a few times). The worker then learns of the cancel without reading the marker: its next
   * If-Match write is refused, and the re-read shows the flag (docs/design.md §7). Without enforced conditions
   * a claimed record is left alone (an unconditional write could undo a worker's completion): there the
   * worker reads the marker.
   */
  requestCancel(taskId: string, options?: CancelOptions): Promise<CancelMarker>;
  /**
   * What clients see: the record with the cancel applied (null when unknown). Where the store enforces If-Match
   * the record carries every photo cancel (requestCancel) and is the one read; elsewhere the marker is read too.
   */
  readState(taskId: string): Promise<TaskRecord | null>;
  /** Removes the record, its cancel marker and its owner-index entry (inputs and outputs are the caller's). */
  delete(taskId: string): Promise<void>;
  /** Ids of the tasks created by `owner` (the owner index), at most `limit`. */
  listOwned(owner: string, limit: number): Promise<string[]>;
}

export interface CancelOptions {
  reason?: string;
  /**
   * The store enforces If-Match (Storage.probeConditionalWrites): the claimed record can carry the flag. By
   * default the repository asks the store once; tests force either path.
   */
  conditionalWrites?: boolean;
}

/** Refused conditional writes tolerated before the cancel rests on the marker alone (each means a worker wrote). */
const CANCEL_WRITE_TRIES = 3;

const OWNED_TASK = /^owners\/key_[0-9a-f]{24}\/([0-9A-Za-z-]{1,64})$/;

/** A task record and the ETag of that version (undefined when the store does not give one). */
export interface VersionedTask {
  record: TaskRecord;
  etag: string | undefined;
}

/** Workers read and write records but never list them: `list` is only needed by listOwned. */
export function createTaskRepository(
  store: Pick<Storage, 'readJson' | 'readJsonVersioned' | 'writeJson' | 'delete' | 'put'> &
    Partial<Pick<Storage, 'list' | 'probeConditionalWrites'>>,
): TaskRepository {
  const parse = (v: unknown) => TaskRecordSchema.parse(v);
  // Asked of the store once per repository, at the first cancel or state read: does it enforce If-Match? Then
  // cancels are written into the record too (requestCancel) and readState needs no marker read.
  let conditionalProbe: Promise<boolean> | undefined;
  const cancelInRecord = (): Promise<boolean> => {
    if (!store.probeConditionalWrites) return Promise.resolve(false);
    conditionalProbe ??= store.probeConditionalWrites(keys.conditionalWriteProbe).catch((err: unknown) => {
      conditionalProbe = undefined; // a store that was down is asked again next time
      throw err;
    });
    return conditionalProbe;
  };
  const tasks: TaskRepository = {
    read: (taskId) => store.readJson(keys.taskRecord(taskId), parse),
    async write(input) {
      const record = TaskRecordSchema.parse(input);
      // The creating write (status queued: only the API writes it) also files the task under its owner, first,
      // so an indexed id whose record never came is merely skipped by the listing.
      if (record.owner && record.status === 'queued') {
        await store.put(keys.ownerTask(record.owner, record.taskId), '', { contentType: 'text/plain' });
      }
      await store.writeJson(keys.taskRecord(record.taskId), record);
      return record;
    },
    async readVersioned(taskId) {
      const found = await store.readJsonVersioned(keys.taskRecord(taskId), parse);
      return found ? { record: found.value, etag: found.etag } : null;
    },
    async writeVersioned(input, conditions) {
      const record = TaskRecordSchema.parse(input);
      const { etag } = await store.writeJson(keys.taskRecord(record.taskId), record, conditions);
      return { record, etag };
    },
    readCancelMarker: (taskId) => store.readJson(keys.cancelMarker(taskId), (v) => CancelMarkerSchema.parse(v)),
    async writeCancelMarker(taskId, reason) {
      const marker = CancelMarkerSchema.parse({ taskId, requestedAt: new Date().toISOString(), reason });
      await store.writeJson(keys.cancelMarker(taskId), marker);
      return marker;
    },
    async requestCancel(taskId, options = {}) {
      const { reason } = options;
      const conditionalWrites = options.conditionalWrites ?? (await cancelInRecord());
      const marker = await tasks.writeCancelMarker(taskId, reason);
      for (let attempt = 0; attempt < CANCEL_WRITE_TRIES; attempt++) {
        const found = await tasks.readVersioned(taskId);
        if (!found || found.record.status === 'cancelled') return marker;
        const { record, etag } = found;
        const queued = record.status === 'queued';
        if (!queued && (!conditionalWrites || !etag)) return marker;
        const next: TaskRecordInput = queued
          ? {
              ...record,
              status: 'cancelled',
              stage: 'cancelled',
              message: 'Task cancelled',
              cancelRequested: true,
              updatedAt: marker.requestedAt,
              completedAt: marker.requestedAt,
            }
          : // The worker's own fields stay as they are: it finishes the record as `cancelled` itself. A record
            // finished meanwhile (the cancel raced the worker's last write) gets the flag too, so readers that
            // trust the record (readState) hide its result as effectiveTask does with the marker.
            { ...record, cancelRequested: true };
        try {
          await tasks.writeVersioned(next, etag ? { ifMatch: etag } : {});
          return marker;
        } catch (err) {
          // A worker wrote in between (claim, progress): read its version and try again on top of it.
          if (!(isPhotoEnhanceError(err) && err.code === 'CONFLICT')) throw err;
        }
      }
      return marker;
    },
    async readState(taskId) {
      if (await cancelInRecord()) {
        // Every photo cancel also flags the record here (requestCancel, If-Match), so the record alone says it:
        // one GET per state instead of two — the larger part of an API's CPU per watched change (bench:watch-cpu).
        // Video cancels still write only the marker (routes/videos), so video tasks read it too.
        const record = await tasks.read(taskId);
        if (!record) return null;
        if (record.video !== undefined) return effectiveTask(record, await tasks.readCancelMarker(taskId));
        return effectiveTask(record, record.cancelRequested ? { taskId, requestedAt: record.updatedAt } : null);
      }
      const [record, marker] = await Promise.all([tasks.read(taskId), tasks.readCancelMarker(taskId)]);
      return record ? effectiveTask(record, marker) : null;
    },
    async delete(taskId) {
      const record = await tasks.read(taskId);
      await store.delete(keys.taskRecord(taskId));
      await store.delete(keys.cancelMarker(taskId));
      if (record?.owner) await store.delete(keys.ownerTask(record.owner, taskId));
    },
    async listOwned(owner, limit) {
      if (!store.list) throw new TypeError('this task repository was made without list()');
      const objects = await store.list(keys.ownerPrefix(owner), { limit });
      return objects.map((o) => OWNED_TASK.exec(o.key)?.[1]).filter((id): id is string => Boolean(id));
    },
  };
  return tasks;
}
