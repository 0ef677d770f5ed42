import { isTerminalStatus, PhotoEnhanceError } from '@photoenhance/contracts';
import type { Records } from '@photoenhance/core';
import type { Tenant } from '../auth/tenants.ts';
import { mapLimit } from '../routes/batch/map-limit.ts';

/** A marker whose task record has not appeared after this long belongs to a request that died: not counted. */
const MARKER_GRACE_MS = 5 * 60 * 1000;
const READ_CONCURRENCY = 8;
/** How long a task seen unfinished is taken as still unfinished without reading it again. */
const RECHECK_MS = 2000;
const MAX_REMEMBERED = 100_000;

/**
 * MAX_ACTIVE_TASKS_PER_KEY: queued + processing tasks per tenant. Counted from the tenant's own active/ markers
 * (one listing); only when there are too many markers for the request are they checked against their tasks' states,
 * and markers of finished or vanished tasks removed as they are found. Reservations of one tenant are serialised on this instance, so concurrent requests cannot
 * both take the last slot here; across API instances the count can overshoot by the requests in flight at once.
 * The anonymous tenant (no API_KEYS) and the operator key are not limited.
 */
export interface ActiveTaskQuota {
  /** Throws QUOTA_EXCEEDED (429) when `adding` more tasks would go over the limit. */
  check(tenant: Tenant, adding: number): Promise<void>;
  /** check() and then mark `taskIds` active, atomically on this instance. */
  reserve(tenant: Tenant, taskIds: readonly string[]): Promise<void>;
  /** Forgets the markers (a request that failed after reserving, a deleted task). */
  release(owner: string | undefined, taskIds: readonly string[]): Promise<void>;
}

export function createActiveTaskQuota(deps: { records: Records; limit: number; now?: () => number }): ActiveTaskQuota {
  const { records, limit } = deps;
  const now = deps.now ?? Date.now;
  const queues = new Map<string, Promise<unknown>>();
  /** Tasks seen unfinished, and when: a client retrying at its limit does not cost a read per task each time. */
  const stillRunning = new Map<string, number>();
  const remember = (taskId: string) => {
    if (stillRunning.size >= MAX_REMEMBERED) stillRunning.delete(stillRunning.keys().next().value as string);
    stillRunning.set(taskId, now());
  };

  const limited = (tenant: Tenant): string | undefined =>
    limit > 0 && !tenant.admin && tenant.owner ? tenant.owner : undefined;

  /** Unfinished tasks, or at most that many: markers are only checked (and pruned) when their count nears the limit. */
  async function countActive(owner: string, adding: number): Promise<number> {
    const markers = await records.active.list(owner);
    // Every unfinished task has a marker, so fewer markers than the limit proves room without reading any task.
    if (markers.length + adding <= limit) return markers.length;
    const active = await mapLimit(markers, READ_CONCURRENCY, async ({ taskId, since }) => {
      const seen = stillRunning.get(taskId);
      if (seen !== undefined && now() - seen < RECHECK_MS) return true;
      // The record alone (one GET): a task cancelled by DELETE has its marker removed by the route itself.
      const task = await records.tasks.read(taskId);
      if (task && !isTerminalStatus(task.status)) {
        remember(taskId);
        return true;
      }
      const young = since !== undefined && now() - since.getTime() < MARKER_GRACE_MS;
      if (task ? !isTerminalStatus(task.status) : young) return true;
      await records.active.remove(owner, taskId);
      return false;
    });
    return active.filter(Boolean).length;
  }

  async function check(owner: string, adding: number): Promise<void> {
    const active = await countActive(owner, adding);
    if (active + adding > limit) {
      throw new PhotoEnhanceError(
        'QUOTA_EXCEEDED',
        `This API key has ${active} unfinished tasks; MAX_ACTIVE_TASKS_PER_KEY allows ${limit} at once. Wait for some to finish or cancel them`,
        { details: { limit: 'MAX_ACTIVE_TASKS_PER_KEY', max: limit, active, requested: adding } },
      );
    }
  }

  /** Runs `fn` after every earlier call for the same owner has settled. */
  function serialised<T>(owner: string, fn: () => Promise<T>): Promise<T> {
    const previous = queues.get(owner) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    queues.set(owner, settled);
    void settled.then(() => {
      if (queues.get(owner) === settled) queues.delete(owner);
    });
    return run;
  }

  return {
    async check(tenant, adding) {
      const owner = limited(tenant);
      if (owner) await check(owner, adding);
    },
    async reserve(tenant, taskIds) {
      const owner = limited(tenant);
      if (!owner) return;
      await serialised(owner, async () => {
        await check(owner, taskIds.length);
        await mapLimit(taskIds, READ_CONCURRENCY, (id) => records.active.add(owner, id));
      });
    },
    async release(owner, taskIds) {
      if (!owner) return;
      await mapLimit(taskIds, READ_CONCURRENCY, (id) => records.active.remove(owner, id));
    },
  };
}
