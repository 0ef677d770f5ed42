import { keys } from '../storage/keys.ts';
import type { Storage } from '../storage/storage.ts';

export interface ActiveTaskMarker {
  taskId: string;
  /** When the marker was written (the storage's Last-Modified). */
  since: Date | undefined;
}

/**
 * Per-tenant markers of unfinished tasks (active/{owner}/{taskId}, empty objects), so a tenant's active tasks are
 * counted with one listing of its own prefix instead of reading every task record in the bucket. The API writes a
 * marker before the task's job is sent and removes it once the task is seen finished or gone.
 */
export interface ActiveTaskRepository {
  add(owner: string, taskId: string): Promise<void>;
  list(owner: string): Promise<ActiveTaskMarker[]>;
  remove(owner: string, taskId: string): Promise<void>;
}

export function createActiveTaskRepository(store: Pick<Storage, 'put' | 'list' | 'delete'>): ActiveTaskRepository {
  return {
    async add(owner, taskId) {
      await store.put(keys.activeTask(owner, taskId), '', { contentType: 'text/plain' });
    },
    async list(owner) {
      const prefix = keys.activeTaskPrefix(owner);
      return (await store.list(prefix)).map((o) => ({ taskId: o.key.slice(prefix.length), since: o.lastModified }));
    },
    remove: (owner, taskId) => store.delete(keys.activeTask(owner, taskId)),
  };
}
