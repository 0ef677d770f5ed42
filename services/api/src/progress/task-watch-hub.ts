import { effectiveTask, isTerminalStatus, type TaskRecord } from '@photoenhance/contracts';
import type { TaskChangeChannel, TaskRepository } from '@photoenhance/core';
import type { Logger } from 'pino';

/**
 * One read loop per watched task per API instance, whatever the number of viewers: event streams (task and
 * batch) subscribe here and get the state from memory. The loop reads storage
 *  - on every change notice (TaskChangeChannel: in-process for the embedded default, see docs/design.md §7),
 *    plus a slow fallback poll for notices that never come (another instance's cancel, a lost message);
 *  - without a channel, every `pollMs` — still one read per task per poll, shared by all its viewers.
 * A notice that carries the record it announces (the in-process channel: the worker shares this process) costs no
 * read at all: its record is the state, as long as it is newer than the one held and no read is in flight.
 * A task that reached a terminal state is not read again. The hub knows nothing about who may watch what:
 * routes check access before they subscribe.
 */
export interface TaskWatchHubOptions {
  tasks: Pick<TaskRepository, 'readState'>;
  /** Poll period without a channel. */
  pollMs: number;
  /** Poll period with a channel (a safety net only). */
  fallbackPollMs: number;
  channel?: TaskChangeChannel | undefined;
  logger?: Pick<Logger, 'warn'>;
}

/** What a watcher sees of one task: its client-visible record (null: no such task), or the last read's error. */
export type WatchedState = { record: TaskRecord | null } | { error: unknown };

export interface TaskWatch {
  /** The newest state of each task, once its first read is done (await ready() first). */
  state(taskId: string): WatchedState | undefined;
  /** Resolves when every task has its first state. */
  ready(): Promise<void>;
  /** Resolves at the next change of any watched task, or after `timeoutMs`. */
  next(timeoutMs: number): Promise<void>;
  close(): void;
}

export interface TaskWatchHub {
  watch(taskIds: readonly string[]): TaskWatch;
  /** Tasks with a read loop now (metrics, tests). */
  watchedTasks(): number;
  close(): void;
}

interface Entry {
  taskId: string;
  watchers: Set<Watcher>;
  state: WatchedState | undefined;
  first: Promise<void>;
  resolveFirst: () => void;
  reading: boolean;
  /** A notice arrived while reading: read once more after. */
  dirty: boolean;
  timer: NodeJS.Timeout | undefined;
}

interface Watcher {
  wake(): void;
}

/** What a viewer could notice: two reads with the same version wake nobody. */
function versionOf(state: WatchedState | undefined): string {
  if (!state) return '';
  if ('error' in state) return 'error';
  const r = state.record;
  return r ? `${r.status}|${r.stage}|${r.progress}|${r.updatedAt}|${r.cancelRequested ?? false}` : 'missing';
}

export function createTaskWatchHub(options: TaskWatchHubOptions): TaskWatchHub {
  const entries = new Map<string, Entry>();
  const period = options.channel ? options.fallbackPollMs : options.pollMs;

  const finished = (entry: Entry) =>
    entry.state !== undefined &&
    'record' in entry.state &&
    (entry.state.record === null || isTerminalStatus(entry.state.record.status));

  const schedule = (entry: Entry, ms: number) => {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void read(entry), ms);
    entry.timer.unref();
  };

  async function read(entry: Entry): Promise<void> {
    if (entry.reading) {
      entry.dirty = true;
      return;
    }
    clearTimeout(entry.timer);
    entry.reading = true;
    let next: WatchedState;
    try {
      next = { record: await options.tasks.readState(entry.taskId) };
    } catch (error) {
      options.logger?.warn({ err: error, taskId: entry.taskId }, 'watched task could not be read; trying again');
      // A first read that failed is the route's answer; later hiccups keep the last good state.
      next = entry.state ?? { error };
    }
    entry.reading = false;
    settle(entry, next);
  }

  /** A new state for a task, read or carried by a notice: wake its viewers if they can see a difference. */
  function settle(entry: Entry, next: WatchedState): void {
    const changed = versionOf(next) !== versionOf(entry.state);
    entry.state = next;
    entry.resolveFirst();
    if (changed) for (const w of entry.watchers) w.wake();
    if (entries.get(entry.taskId) !== entry) return; // nobody watches any more
    if (finished(entry)) return; // a final state never changes: no more reads
    if (entry.dirty) {
      entry.dirty = false;
      void read(entry);
    } else schedule(entry, 'error' in next ? options.pollMs : period);
  }

  /**
   * The state a carried record stands for, or undefined when only a read can tell: a video's cancel lives in its
   * marker alone, and a record not newer than the one held may be a late notice (or a same-millisecond write).
   * A photo's cancel is in the record where stores enforce If-Match, and otherwise announced by the API's own
   * id-only notice, which reads.
   */
  function carriedState(entry: Entry, record: TaskRecord): WatchedState | undefined {
    if (entry.reading || entry.state === undefined || record.video !== undefined) return undefined;
    const held = 'record' in entry.state ? entry.state.record : null;
    if (!held || record.updatedAt <= held.updatedAt) return undefined;
    return {
      record: record.cancelRequested
        ? effectiveTask(record, { taskId: record.taskId, requestedAt: record.updatedAt })
        : record,
    };
  }

  const unsubscribe = options.channel?.subscribe(({ taskId, record }) => {
    const entry = entries.get(taskId);
    if (!entry || finished(entry)) return;
    const carried = record ? carriedState(entry, record) : undefined;
    if (carried) settle(entry, carried);
    else void read(entry);
  });

  function attach(taskId: string, watcher: Watcher): Entry {
    let entry = entries.get(taskId);
    if (!entry) {
      let resolveFirst = () => {};
      const first = new Promise<void>((r) => (resolveFirst = r));
      entry = {
        taskId,
        watchers: new Set(),
        state: undefined,
        first,
        resolveFirst,
        reading: false,
        dirty: false,
        timer: undefined,
      };
      entries.set(taskId, entry);
      void read(entry);
    }
    entry.watchers.add(watcher);
    return entry;
  }

  function detach(entry: Entry, watcher: Watcher): void {
    entry.watchers.delete(watcher);
    if (entry.watchers.size > 0) return;
    clearTimeout(entry.timer);
    entries.delete(entry.taskId);
  }

  return {
    watch(taskIds) {
      let wakeUp: (() => void) | undefined;
      let changedSinceNext = false;
      const watcher: Watcher = {
        wake() {
          changedSinceNext = true;
          wakeUp?.();
        },
      };
      const mine = new Map<string, Entry>();
      for (const id of taskIds) if (!mine.has(id)) mine.set(id, attach(id, watcher));
      let closed = false;
      return {
        state: (taskId) => mine.get(taskId)?.state,
        async ready() {
          await Promise.all([...mine.values()].map((e) => e.first));
          changedSinceNext = false;
        },
        next(timeoutMs) {
          if (changedSinceNext || closed) {
            changedSinceNext = false;
            return Promise.resolve();
          }
          return new Promise<void>((resolve) => {
            const timer = setTimeout(done, timeoutMs);
            function done() {
              clearTimeout(timer);
              wakeUp = undefined;
              changedSinceNext = false;
              resolve();
            }
            wakeUp = done;
          });
        },
        close() {
          if (closed) return;
          closed = true;
          wakeUp?.();
          for (const entry of mine.values()) detach(entry, watcher);
        },
      };
    },
    watchedTasks: () => entries.size,
    close() {
      unsubscribe?.();
      for (const entry of entries.values()) clearTimeout(entry.timer);
      entries.clear();
    },
  };
}
