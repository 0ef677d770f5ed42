import { isTerminalStatus, isValidId } from '@photoenhance/contracts';
import type { Logger } from 'pino';
import { sweepExpiredUploads, sweepOrphanInputs } from '../embedded/upload-sweeper.ts';
import { createRecords } from '../records/index.ts';
import { keys } from '../storage/keys.ts';
import type { Storage } from '../storage/storage.ts';

/**
 * RETENTION_HOURS, enforced by the service itself on every backend (embedded, MinIO, S3): bucket lifecycle
 * rules only work in whole days and not every store has them, while the API answers 410 EXPIRED the moment a
 * task's time is up. This pass removes what those answers already hide:
 *  - finished tasks past their retention: input, output, record, cancel marker and active marker;
 *  - batch records past retention whose tasks are all gone;
 *  - pending direct uploads that can never start, and inputs with neither a record nor a pending upload after
 *    a grace (a request that died between storing the photo and writing its record): upload-sweeper.ts.
 */

export interface RetentionSweepOptions {
  /** How long a finished task is kept (RETENTION_HOURS in ms). */
  retentionMs: number;
  /** Grace before an input without a record counts as orphaned (default an hour). */
  orphanInputAgeMs?: number;
  now?: Date;
}

export interface RetentionSweepResult {
  /** Finished tasks removed (record and objects). */
  tasks: number;
  /** Objects removed with them (inputs, outputs). */
  objects: number;
  batches: number;
  uploads: number;
  orphanInputs: number;
  activeMarkers: number;
}

/** When a finished task's time is up: RETENTION after it finished (completedAt, else its last update). */
function finishedAt(record: { completedAt?: string | undefined; updatedAt: string }): number {
  return Date.parse(record.completedAt ?? record.updatedAt);
}

export async function sweepExpiredTasks(
  storage: Storage,
  options: RetentionSweepOptions,
): Promise<Pick<RetentionSweepResult, 'tasks' | 'objects'>> {
  const now = (options.now ?? new Date()).getTime();
  const records = createRecords(storage);
  const result = { tasks: 0, objects: 0 };
  const seen = new Set<string>();
  for (const object of await storage.list('tasks/')) {
    const taskId = /^tasks\/([^/]+)\.(json|cancel)$/.exec(object.key)?.[1];
    if (!taskId || !isValidId(taskId) || seen.has(taskId)) continue;
    // A record last written less than the retention ago cannot have finished long enough ago: no read needed.
    if (object.lastModified && now - object.lastModified.getTime() < options.retentionMs) continue;
    seen.add(taskId);
    let task: Awaited<ReturnType<typeof records.tasks.readState>>;
    try {
      task = await records.tasks.readState(taskId);
    } catch {
      continue; // a record that does not parse: leave it to an operator
    }
    if (task && (!isTerminalStatus(task.status) || now - finishedAt(task) < options.retentionMs)) continue;
    result.objects += await storage.deletePrefix(keys.inputPrefix(taskId));
    result.objects += await storage.deletePrefix(keys.outputPrefix(taskId));
    await records.tasks.delete(taskId);
    if (task?.owner) await records.active.remove(task.owner, taskId);
    if (task) result.tasks++;
  }
  return result;
}

/** Batch records older than the retention whose tasks are all gone (expired or deleted). */
export async function sweepExpiredBatches(storage: Storage, options: RetentionSweepOptions): Promise<number> {
  const now = (options.now ?? new Date()).getTime();
  const records = createRecords(storage);
  let removed = 0;
  for (const object of await storage.list('batches/')) {
    const batchId = /^batches\/([^/]+)\.json$/.exec(object.key)?.[1];
    if (!batchId || !isValidId(batchId)) continue;
    if (object.lastModified && now - object.lastModified.getTime() < options.retentionMs) continue;
    try {
      const batch = await records.batches.read(batchId);
      if (!batch) continue;
      const alive = await Promise.all(batch.taskIds.map(async (id) => (await records.tasks.read(id)) !== null));
      if (alive.some(Boolean)) continue;
      await records.batches.delete(batchId);
      removed++;
    } catch {
      // a record that does not parse: leave it to an operator
    }
  }
  return removed;
}

/** Active-task markers (quota) whose task has finished or vanished, left by tenants that stopped creating tasks. */
export async function sweepStaleActiveMarkers(storage: Storage, options: { now?: Date; graceMs?: number } = {}) {
  const now = (options.now ?? new Date()).getTime();
  const graceMs = options.graceMs ?? 5 * 60 * 1000;
  const records = createRecords(storage);
  let removed = 0;
  for (const object of await storage.list(keys.activePrefix)) {
    const [, owner, taskId] = object.key.split('/');
    if (!owner || !taskId || !isValidId(taskId)) continue;
    if (object.lastModified && now - object.lastModified.getTime() < graceMs) continue;
    try {
      const task = await records.tasks.readState(taskId);
      if (task && !isTerminalStatus(task.status)) continue;
      await records.active.remove(owner, taskId);
      removed++;
    } catch {
      // not one of ours: leave it to an operator
    }
  }
  return removed;
}

/** One whole pass; each part runs even when an earlier one failed (the error is rethrown at the end). */
export async function sweepRetention(storage: Storage, options: RetentionSweepOptions): Promise<RetentionSweepResult> {
  const now = options.now ?? new Date();
  const result: RetentionSweepResult = {
    tasks: 0,
    objects: 0,
    batches: 0,
    uploads: 0,
    orphanInputs: 0,
    activeMarkers: 0,
  };
  const failures: unknown[] = [];
  const step = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      failures.push(err);
    }
  };
  await step(async () => {
    Object.assign(result, await sweepExpiredTasks(storage, { ...options, now }));
  });
  await step(async () => {
    result.batches = await sweepExpiredBatches(storage, { ...options, now });
  });
  await step(async () => {
    result.uploads = (await sweepExpiredUploads(storage, { now })).records;
  });
  await step(async () => {
    result.orphanInputs = await sweepOrphanInputs(storage, {
      now,
      ...(options.orphanInputAgeMs !== undefined ? { minAgeMs: options.orphanInputAgeMs } : {}),
    });
  });
  await step(async () => {
    result.activeMarkers = await sweepStaleActiveMarkers(storage, { now });
  });
  if (failures.length > 0) throw new AggregateError(failures, 'retention sweep incomplete');
  return result;
}

export interface RetentionSweeper {
  stop(): void;
  /** One pass now (what the timer runs); resolves when it is done. */
  runOnce(): Promise<RetentionSweepResult | undefined>;
}

/** sweepRetention every `intervalMs` (and once at start); failures are logged and retried at the next interval. */
export function startRetentionSweeper(
  storage: Storage,
  options: { retentionMs: number; intervalMs: number; logger?: Logger },
): RetentionSweeper {
  let running: Promise<RetentionSweepResult | undefined> | undefined;
  const pass = (): Promise<RetentionSweepResult | undefined> => {
    running ??= sweepRetention(storage, { retentionMs: options.retentionMs })
      .then((swept) => {
        const removed = Object.values(swept).some((n) => n > 0);
        if (removed) options.logger?.info(swept, 'retention sweep removed expired data');
        return swept;
      })
      .catch((err: unknown) => {
        options.logger?.warn({ err }, 'retention sweep failed; retrying at the next interval');
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void pass(), options.intervalMs);
  timer.unref();
  const first = setTimeout(() => void pass(), 1000);
  first.unref();
  return {
    stop: () => {
      clearInterval(timer);
      clearTimeout(first);
    },
    runOnce: pass,
  };
}
