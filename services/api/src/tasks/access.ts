import {
  type BatchRecord,
  isTerminalStatus,
  PhotoEnhanceError,
  parseId,
  type TaskRecord,
  type UploadRecord,
} from '@photoenhance/contracts';
import type { Records } from '@photoenhance/core';
import type { Tenant, TenantDirectory } from '../auth/tenants.ts';
import type { TaskStateCache } from '../http/task-state-cache.ts';

/**
 * When a finished task's input, result and record are due to go: RETENTION_HOURS after it finished (its
 * completedAt, else its last update). Unfinished tasks do not expire.
 */
export function taskExpiresAt(record: TaskRecord, retentionMs: number): Date | undefined {
  if (!isTerminalStatus(record.status)) return undefined;
  return new Date(Date.parse(record.completedAt ?? record.updatedAt) + retentionMs);
}

export function retentionMs(hours: number): number {
  return Math.round(hours * 3600 * 1000);
}

/**
 * Every client read of a task, batch or pending upload goes through here: another tenant's id answers exactly
 * like a missing one (same 404, same message: no existence oracle), and a task past its retention answers 410
 * EXPIRED at once, before the sweeper has removed its objects.
 */
export interface TaskAccess {
  /** A task the caller may see. `fresh` skips the short status cache (download, delete). */
  task(tenant: Tenant, rawId: string, options?: { fresh?: boolean; allowExpired?: boolean }): Promise<TaskRecord>;
  /** For batch views: the task's state, or null when it is gone, expired or not the caller's. */
  visibleTask(tenant: Tenant, taskId: string, options?: { fresh?: boolean }): Promise<TaskRecord | null>;
  /** Whether a state read elsewhere (event polls) may still be shown to the caller; throws like task(). */
  check(tenant: Tenant, record: TaskRecord | null, taskId: string, allowExpired?: boolean): TaskRecord;
  /** The caller's pending direct upload, or null (another tenant's counts as none). */
  upload(tenant: Tenant, taskId: string): Promise<UploadRecord | null>;
  expiresAt(record: TaskRecord): Date | undefined;
  /**
   * The batch and task reads of the batch routes, as the caller sees them: another tenant's batch reads as
   * missing, and a task gone, expired or not the caller's reads as deleted.
   */
  batchSource(
    tenant: Tenant,
    options?: { fresh?: boolean },
  ): {
    batches: { read(batchId: string): Promise<BatchRecord | null> };
    tasks: { readState(taskId: string): Promise<TaskRecord | null> };
  };
}

export function createTaskAccess(deps: {
  records: Records;
  taskStates: TaskStateCache;
  tenants: TenantDirectory;
  retentionHours: number;
  now?: () => number;
}): TaskAccess {
  const { records, taskStates, tenants } = deps;
  const keepMs = retentionMs(deps.retentionHours);
  const now = deps.now ?? Date.now;
  const expired = (record: TaskRecord) => {
    const at = taskExpiresAt(record, keepMs);
    return at !== undefined && at.getTime() <= now();
  };

  const access: TaskAccess = {
    async task(tenant, rawId, options = {}) {
      const taskId = parseId(rawId);
      const record = options.fresh ? await records.tasks.readState(taskId) : await taskStates.read(taskId);
      return access.check(tenant, record, taskId, options.allowExpired);
    },
    check(tenant, record, taskId, allowExpired = false) {
      if (!record || !tenants.canSee(tenant, record.owner)) {
        throw new PhotoEnhanceError('NOT_FOUND', `No task ${taskId}`);
      }
      if (!allowExpired && expired(record)) {
        throw new PhotoEnhanceError(
          'EXPIRED',
          `Task ${taskId} has expired: its photos and result are deleted ${deps.retentionHours} hours after it finishes`,
          { details: { expired_at: taskExpiresAt(record, keepMs)?.toISOString() } },
        );
      }
      return record;
    },
    async visibleTask(tenant, taskId, options = {}) {
      const record = options.fresh ? await records.tasks.readState(taskId) : await taskStates.read(taskId);
      if (!record || !tenants.canSee(tenant, record.owner) || expired(record)) return null;
      return record;
    },
    async upload(tenant, taskId) {
      const upload = await records.uploads.read(taskId);
      return upload && tenants.canSee(tenant, upload.owner) ? upload : null;
    },
    expiresAt: (record) => taskExpiresAt(record, keepMs),
    batchSource: (tenant, options = {}) => ({
      batches: {
        async read(batchId) {
          const record = await records.batches.read(batchId);
          return record && tenants.canSee(tenant, record.owner) ? record : null;
        },
      },
      tasks: { readState: (taskId) => access.visibleTask(tenant, taskId, options) },
    }),
  };
  return access;
}
