import { PhotoEnhanceError } from '@photoenhance/contracts';

/**
 * Open event streams, capped per caller (MAX_EVENT_STREAMS_PER_KEY) and on this instance in all
 * (MAX_EVENT_STREAMS): each stream holds a socket and a poll loop, so one client opening thousands must not
 * starve the others. Beyond either cap: 429 QUOTA_EXCEEDED naming the limit (Retry-After: a slot frees when any
 * stream ends). Counted by hand: two counters, no library needed.
 */
export interface StreamSlots {
  /** Takes a slot for `caller` or throws; call the returned function exactly once when the stream ends. */
  acquire(caller: string): () => void;
  readonly open: number;
}

export function createStreamSlots(perCaller: number, total: number): StreamSlots {
  const byCaller = new Map<string, number>();
  let open = 0;
  const refuse = (setting: string, max: number, scope: string) =>
    new PhotoEnhanceError(
      'QUOTA_EXCEEDED',
      `Too many open event streams ${scope} (${setting}=${max}); close one first`,
      {
        retryable: true,
        details: { limit: setting, max },
      },
    );
  return {
    get open() {
      return open;
    },
    acquire(caller) {
      const mine = byCaller.get(caller) ?? 0;
      if (mine >= perCaller) throw refuse('MAX_EVENT_STREAMS_PER_KEY', perCaller, 'for this API key');
      if (open >= total) throw refuse('MAX_EVENT_STREAMS', total, 'on this server');
      byCaller.set(caller, mine + 1);
      open++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        open--;
        const left = (byCaller.get(caller) ?? 1) - 1;
        if (left > 0) byCaller.set(caller, left);
        else byCaller.delete(caller);
      };
    },
  };
}
