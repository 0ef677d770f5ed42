import { PhotoEnhanceError } from '@photoenhance/contracts';

/**
 * At most `limit` runs at once on this instance; a run beyond that is refused at once (429 QUOTA_EXCEEDED naming
 * the setting, with Retry-After) rather than queued, so a burst of expensive work cannot pile up memory. Hand-written: a counter
 * is all it takes, and the refusal (not a wait) is the point.
 */
export interface Semaphore {
  run<T>(fn: () => Promise<T>): Promise<T>;
  readonly inFlight: number;
}

export function createSemaphore(limit: number, setting: string, what: string): Semaphore {
  let inFlight = 0;
  return {
    get inFlight() {
      return inFlight;
    },
    async run(fn) {
      if (inFlight >= limit) {
        throw new PhotoEnhanceError(
          'QUOTA_EXCEEDED',
          `Too many ${what} at once (${setting}=${limit}); try again in a few seconds`,
          {
            retryable: true,
            details: { limit: setting, max: limit },
          },
        );
      }
      inFlight++;
      try {
        return await fn();
      } finally {
        inFlight--;
      }
    },
  };
}
