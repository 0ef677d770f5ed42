/**
 * Remembers signatures already accepted within the validity window, so a captured request cannot be replayed
 * while its timestamp is still fresh. In-process memory: with several API instances a replay could still land
 * on another instance, which is why signed bodies also carry a nonce the receiver may store.
 */
export interface ReplayGuard {
  /** true the first time `digest` is seen within its lifetime, false for a replay. */
  claim(digest: string, now?: number): boolean;
  readonly size: number;
}

export function createReplayGuard(options: { ttlMs: number; maxEntries?: number }): ReplayGuard {
  const { ttlMs } = options;
  const maxEntries = options.maxEntries ?? 100_000;
  // Insertion order = expiry order (fixed TTL), so pruning walks from the front and stops early.
  const seen = new Map<string, number>();

  function prune(now: number): void {
    for (const [digest, expires] of seen) {
      if (expires > now && seen.size <= maxEntries) break;
      seen.delete(digest);
    }
  }

  return {
    claim(digest, now = Date.now()) {
      prune(now);
      const expires = seen.get(digest);
      if (expires !== undefined && expires > now) return false;
      seen.set(digest, now + ttlMs);
      return true;
    },
    get size() {
      return seen.size;
    },
  };
}
