import type { TaskRecord } from '@photoenhance/contracts';

/**
 * "Task X changed" notices from the processes that write task records (workers) to the API instances holding
 * the viewers, so a viewer costs one storage read per change instead of one per poll (docs/design.md §7).
 * A notice carries the id (and, in process, the record just written): the record in storage stays the one truth
 * (a lost or late notice costs latency, never correctness, and the API's fallback poll catches up).
 */
export interface TaskChange {
  taskId: string;
  /**
   * The record as just written, when the publisher shares the listener's process (the in-process channel of the
   * embedded default): the API's watch hub then needs no read for this change. Never sent across processes —
   * S3 → SNS → SQS notices carry only the key, and storage stays the truth for them.
   */
  record?: TaskRecord;
}

export interface TaskChangeChannel {
  /** Fire and forget: a channel that cannot deliver drops the notice (the fallback poll covers it). */
  publish(change: TaskChange): void;
  /** Calls `listener` for every notice from now on; returns the unsubscribe. */
  subscribe(listener: (change: TaskChange) => void): () => void;
}

/**
 * The embedded default (`npm start` runs the API and its worker in one process): notices are plain calls.
 * Written by hand rather than with EventEmitter so one throwing listener never stops the others.
 */
export function createInProcessTaskChannel(): TaskChangeChannel {
  const listeners = new Set<(change: TaskChange) => void>();
  return {
    publish(change) {
      for (const listener of [...listeners]) {
        try {
          listener(change);
        } catch {
          // A viewer's own failure is its route's business; the others still get the notice.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
