import type { BatchRecordInput, BatchRejection, EnhanceOptions, TaskRecordInput } from '@photoenhance/contracts';
import { type JobQueue, keys, type Records, type Storage } from '@photoenhance/core';
import type { ProbeResult } from '@photoenhance/image';
import type { Tenant } from '../auth/tenants.ts';
import { mapLimit } from '../routes/batch/map-limit.ts';
import { queuedTaskRecord } from '../upload/task-record.ts';
import type { ActiveTaskQuota } from './active-quota.ts';

/** S3 writes / SQS sends in flight while a batch is stored. */
const WRITE_CONCURRENCY = 4;

/** A task whose input is stored and checked, ready to be queued. */
export interface NewTask {
  taskId: string;
  inputKey: string;
  /** Already safe (safeName). */
  filename: string;
  bytes: number;
  probe: ProbeResult;
  options: EnhanceOptions;
  /** Already checked with acceptCallbackUrl. */
  callbackUrl?: string | undefined;
}

export interface SubmitOptions {
  tenant: Tenant;
  /** Also write a batch record naming the tasks (written last, so it is always whole). */
  batch?: { batchId: string; rejected: BatchRejection[] };
  /** Direct-upload start: on failure the stored input stays, so the upload can still be started. */
  fromDirectUpload?: boolean;
}

/**
 * The one way a task is created, whatever the route (single upload, batch, direct-upload start): the caller's
 * quota is reserved, then the crash-safe order input (already stored) → job message → task record (→ batch
 * record). A record exists only once its job was sent, so none is left `queued` forever; a job whose record
 * never comes (the API died in between) is dropped by the worker after WORKER_RECORD_GRACE_MS, and an input
 * without a record is removed by the retention sweeper after its grace. A failed step undoes what was written:
 * the client never saw the task ids. Every record carries the caller's owner id.
 */
export interface TaskSubmitter {
  /** Throws QUOTA_EXCEEDED before a body is read, when even one more task would go over the caller's limit. */
  precheck(tenant: Tenant, adding?: number): Promise<void>;
  /** Resolves with the records' creation time (the seed's `created_at`). */
  submit(tasks: readonly NewTask[], options: SubmitOptions): Promise<{ createdAt: string }>;
  /** A task left the active set early (deleted or cancelled by its owner). */
  release(owner: string | undefined, taskIds: readonly string[]): Promise<void>;
  /**
   * Marks tasks active (QUOTA_EXCEEDED when over the limit) for a route that queues them itself (videos:
   * segment jobs); it calls release() when its own submission fails.
   */
  reserve(tenant: Tenant, taskIds: readonly string[]): Promise<void>;
}

export function createTaskSubmitter(deps: {
  storage: Pick<Storage, 'deletePrefix'>;
  records: Records;
  queue: Pick<JobQueue, 'send'>;
  quota: ActiveTaskQuota;
}): TaskSubmitter {
  const { storage, records, queue, quota } = deps;
  return {
    precheck: (tenant, adding = 1) => quota.check(tenant, adding),
    release: (owner, taskIds) => quota.release(owner, taskIds),
    reserve: (tenant, taskIds) => quota.reserve(tenant, taskIds),

    async submit(tasks, options) {
      const { tenant, batch } = options;
      const owner = tenant.owner;
      const now = new Date();
      const taskRecords: TaskRecordInput[] = tasks.map((task) => ({
        ...queuedTaskRecord({ ...task, ...(batch ? { batchId: batch.batchId } : {}), now }),
        ...(owner ? { owner } : {}),
      }));
      const taskIds = tasks.map((t) => t.taskId);
      try {
        await quota.reserve(tenant, taskIds);
      } catch (err) {
        if (!options.fromDirectUpload) await undoInputs(taskIds);
        throw err;
      }
      try {
        await mapLimit(tasks, WRITE_CONCURRENCY, (task) =>
          queue.send({
            version: 1,
            taskId: task.taskId,
            ...(batch ? { batchId: batch.batchId } : {}),
            inputKey: task.inputKey,
            options: task.options,
          }),
        );
        await mapLimit(taskRecords, WRITE_CONCURRENCY, (record) => records.tasks.write(record));
        if (batch) {
          const batchRecord: BatchRecordInput = {
            batchId: batch.batchId,
            ...(owner ? { owner } : {}),
            taskIds,
            rejected: batch.rejected,
            createdAt: now.toISOString(),
          };
          await records.batches.write(batchRecord);
        }
      } catch (err) {
        // Undo everything: a job already sent finds no task record and is dropped by the worker.
        await Promise.allSettled([
          ...(batch ? [records.batches.delete(batch.batchId)] : []),
          ...taskIds.map((id) => records.tasks.delete(id)),
          ...(options.fromDirectUpload ? [] : [undoInputs(taskIds)]),
          quota.release(owner, taskIds),
        ]);
        throw err;
      }
      return { createdAt: now.toISOString() };
    },
  };

  async function undoInputs(taskIds: readonly string[]): Promise<void> {
    await Promise.allSettled(taskIds.map((id) => storage.deletePrefix(keys.inputPrefix(id))));
  }
}
