import type { TaskRecord } from '@photoenhance/contracts';
import type { TaskRepository } from '@photoenhance/core';

/**
 * Status polling is the API's hottest path and each read costs two storage GETs (record + cancel
 * marker). Concurrent reads of one task share a single storage read, and its answer is reused for a
 * short TTL — well under the worker's progress write interval, so clients never see a meaningfully
 * older state. Only the status routes read through it; download and cancel always read storage.
 */
export interface TaskStateCache {
  read(taskId: string): Promise<TaskRecord | null>;
  forget(taskId: string): void;
}

export function createTaskStateCache(
  tasks: Pick<TaskRepository, 'readState'>,
  ttlMs: number,
  maxEntries = 10_000,
): TaskStateCache {
  const entries = new Map<string, { at: number; value: Promise<TaskRecord | null> }>();
  return {
    read(taskId) {
      const now = performance.now();
      const hit = entries.get(taskId);
      if (hit && now - hit.at < ttlMs) return hit.value;
      const value = tasks.readState(taskId);
      if (ttlMs > 0) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        entries.set(taskId, { at: now, value });
        // A failed read must not be served to the next caller.
        value.catch(() => entries.delete(taskId));
      }
      return value;
    },
    forget(taskId) {
      entries.delete(taskId);
    },
  };
}
