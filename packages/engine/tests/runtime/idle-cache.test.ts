import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createIdleCache } from '../../src/runtime/index.ts';

/** A cache of numbered "sessions" that records loads and releases. */
function tracked(idleMs: number) {
  const loads: string[] = [];
  const releases: string[] = [];
  let n = 0;
  const cache = createIdleCache<string>({
    load: async (key) => {
      loads.push(key);
      return `${key}#${++n}`;
    },
    release: async (value) => {
      releases.push(value);
    },
    idleMs,
  });
  return { cache, loads, releases };
}

describe('createIdleCache (MODEL_IDLE_SECONDS)', () => {
  it('loads once for concurrent users and releases after the idle time, then loads again', async () => {
    const { cache, loads, releases } = tracked(80);
    const seen = await Promise.all([cache.use('a', async (v) => v), cache.use('a', async (v) => v)]);
    expect(seen).toEqual(['a#1', 'a#1']);
    expect(loads).toEqual(['a']);
    await sleep(200);
    expect(releases).toEqual(['a#1']);
    expect(cache.keys()).toEqual([]);
    expect(await cache.use('a', async (v) => v)).toBe('a#2');
    await cache.close();
    expect(releases).toEqual(['a#1', 'a#2']);
  });

  it('never releases a value while it is in use, and each use restarts the idle clock', async () => {
    const { cache, releases } = tracked(60);
    await cache.use('busy', async () => sleep(150)); // longer than idleMs, in use throughout
    expect(releases).toEqual([]);
    await sleep(30);
    await cache.use('busy', async () => undefined); // used again before the timer ran out
    await sleep(40);
    expect(releases).toEqual([]); // 70 ms since the first release window opened, 40 since the last use
    await sleep(120);
    expect(releases).toEqual(['busy#1']);
    await cache.close();
  });

  it('keeps values until close() when idleMs is 0, and forgets failed loads', async () => {
    const { cache, releases } = tracked(0);
    await cache.use('kept', async () => undefined);
    await sleep(50);
    expect(cache.keys()).toEqual(['kept']);
    let fail = true;
    const flaky = createIdleCache<string>({
      load: async () => {
        if (fail) throw new Error('not yet');
        return 'ok';
      },
      release: async () => undefined,
      idleMs: 0,
    });
    await expect(flaky.use('m', async (v) => v)).rejects.toThrow('not yet');
    fail = false;
    expect(await flaky.use('m', async (v) => v)).toBe('ok');
    await cache.close();
    expect(releases).toEqual(['kept#1']);
    await expect(cache.use('kept', async () => undefined)).rejects.toThrow(/closed/);
  });
});
