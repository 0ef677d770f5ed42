/**
 * Loaded things (restorer sessions: hundreds of MB each) kept while they are used and released after
 * `idleMs` without use — immich's model TTL. A value in use is never released; the next use after a
 * release loads it again. idleMs 0 keeps everything until close().
 */
export interface IdleCache<T> {
  /** Runs `fn` with the loaded value for `key` (loading it once, shared by concurrent callers). */
  use<R>(key: string, fn: (value: T) => Promise<R>): Promise<R>;
  /** Keys loaded (or loading) now. */
  keys(): string[];
  close(): Promise<void>;
}

export interface IdleCacheOptions<T> {
  load: (key: string) => Promise<T>;
  release: (value: T, key: string) => Promise<void>;
  idleMs: number;
  onRelease?: (key: string) => void;
}

interface Entry<T> {
  value: Promise<T>;
  users: number;
  timer?: ReturnType<typeof setTimeout>;
}

export function createIdleCache<T>(options: IdleCacheOptions<T>): IdleCache<T> {
  const entries = new Map<string, Entry<T>>();
  let closed = false;

  function evict(key: string, entry: Entry<T>): void {
    if (entries.get(key) !== entry || entry.users > 0) return;
    entries.delete(key);
    entry.value.then(
      async (v) => {
        await options.release(v, key);
        options.onRelease?.(key);
      },
      () => undefined,
    );
  }

  function entryFor(key: string): Entry<T> {
    let entry = entries.get(key);
    if (!entry) {
      const created: Entry<T> = { value: options.load(key), users: 0 };
      // A failed load is not kept: the next use tries again.
      created.value.catch(() => {
        if (entries.get(key) === created) entries.delete(key);
      });
      entries.set(key, created);
      entry = created;
    }
    return entry;
  }

  return {
    async use(key, fn) {
      if (closed) throw new Error('idle cache is closed');
      const entry = entryFor(key);
      clearTimeout(entry.timer);
      entry.users++;
      try {
        return await fn(await entry.value);
      } finally {
        entry.users--;
        if (entry.users === 0 && options.idleMs > 0 && entries.get(key) === entry) {
          entry.timer = setTimeout(() => evict(key, entry), options.idleMs);
          // An idle timer alone must not keep the process alive.
          entry.timer.unref?.();
        }
      }
    },
    keys: () => [...entries.keys()],
    async close() {
      closed = true;
      const all = [...entries.entries()];
      entries.clear();
      for (const [key, entry] of all) {
        clearTimeout(entry.timer);
        const value = await entry.value.catch(() => undefined);
        if (value !== undefined) await options.release(value, key);
      }
    },
  };
}
