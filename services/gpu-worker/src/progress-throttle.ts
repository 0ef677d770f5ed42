export interface ProgressThrottleOptions<E> {
  /** PROGRESS_MIN_INTERVAL_MS: the least time between two writes, stage changes included. */
  intervalMs: number;
  /** Writes one progress update (to the task record); failures are the writer's concern. */
  write: (event: E) => Promise<void>;
  now?: () => number;
  /** Runs `fn` after `ms` (a cancellable timer); tests drive it by hand. */
  schedule?: (fn: () => void, ms: number) => () => void;
}

function defaultSchedule(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * Turns fine-grained progress events into at most one task-record write per interval — every PUT is billed, and
 * without a cap a GPU job's writes grow with its tiles. The newest event held back is written when the interval
 * runs out (so a stage change shows within one interval, with no later event needed). The interval counts from
 * creation: the claim has just written the record. Writes never overlap (S3 has no ordering between concurrent
 * PUTs, an older progress could land last); the job's final state is not this throttle's: it is always written.
 */
export function createProgressThrottle<E>(options: ProgressThrottleOptions<E>) {
  const now = options.now ?? Date.now;
  const schedule = options.schedule ?? defaultSchedule;
  let lastWriteAt = now();
  let pending: E | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let writing = false;
  let cancelTimer: (() => void) | undefined;

  const stopTimer = () => {
    cancelTimer?.();
    cancelTimer = undefined;
  };

  const drain = (): void => {
    if (writing || pending === undefined) return;
    stopTimer();
    const event = pending;
    pending = undefined;
    writing = true;
    lastWriteAt = now();
    inFlight = options
      .write(event)
      .catch(() => undefined)
      .finally(() => {
        writing = false;
        arm();
      });
  };

  /** Writes the pending event now if the interval allows, else once it does. */
  const arm = (): void => {
    if (writing || pending === undefined || cancelTimer) return;
    const wait = lastWriteAt + options.intervalMs - now();
    if (wait <= 0) drain();
    else
      cancelTimer = schedule(() => {
        cancelTimer = undefined;
        drain();
      }, wait);
  };

  return {
    onProgress(event: E): void {
      pending = event;
      arm();
    },
    /** Waits for writes in flight and sends the last event not written yet, interval or not. */
    async flush(): Promise<void> {
      for (;;) {
        await inFlight;
        if (writing) continue;
        if (pending === undefined) return;
        drain();
      }
    },
    /** Drops anything not written yet and waits for the write in flight, so the job's final state is written last. */
    async discard(): Promise<void> {
      stopTimer();
      pending = undefined;
      while (writing) await inFlight;
    },
  };
}

export type ProgressThrottle<E> = ReturnType<typeof createProgressThrottle<E>>;
