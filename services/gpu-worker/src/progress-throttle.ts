import type { EngineStage } from '@photoenhance/contracts';
import type { ProgressEvent } from '@photoenhance/engine';

export interface ProgressThrottleOptions {
  /** Minimum time between two writes within one stage. */
  intervalMs: number;
  /** Writes one progress update (to the task record); failures are the writer's concern. */
  write: (event: ProgressEvent) => Promise<void>;
  now?: () => number;
}

/**
 * Turns the engine's fine-grained progress events into few task-record writes: one on every stage change,
 * otherwise at most one per interval. Writes never overlap (S3 has no ordering between concurrent PUTs, an
 * older progress could land last), and the latest skipped event is flushed when the job ends.
 */
export function createProgressThrottle(options: ProgressThrottleOptions) {
  const now = options.now ?? Date.now;
  let lastStage: EngineStage | undefined;
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  let pending: ProgressEvent | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let writing = false;

  const drain = (): void => {
    if (writing || !pending) return;
    const event = pending;
    pending = undefined;
    writing = true;
    lastWriteAt = now();
    inFlight = options
      .write(event)
      .catch(() => undefined)
      .finally(() => {
        writing = false;
        // A stage change that arrived during the write goes out now; a plain tick waits for the next event.
        if (pending && pending.stage !== event.stage) drain();
      });
  };

  return {
    onProgress(event: ProgressEvent): void {
      const stageChanged = event.stage !== lastStage;
      lastStage = event.stage;
      pending = event;
      if (stageChanged || now() - lastWriteAt >= options.intervalMs) drain();
    },
    /** Waits for writes in flight and sends the last event not written yet. */
    async flush(): Promise<void> {
      for (;;) {
        await inFlight;
        if (writing) continue;
        if (!pending) return;
        drain();
      }
    },
    /** Drops anything not written yet and waits for the write in flight, so the job's final state is written last. */
    async discard(): Promise<void> {
      pending = undefined;
      while (writing) await inFlight;
    },
  };
}

export type ProgressThrottle = ReturnType<typeof createProgressThrottle>;
