import { describe, expect, it } from 'vitest';
import { createProgressThrottle } from '../src/progress-throttle.ts';

interface Tick {
  stage: string;
  progress: number;
}

/** A throttle on a hand-driven clock and timer, recording what it writes. */
function setup(intervalMs: number) {
  let clock = 0;
  const written: Tick[] = [];
  let release: (() => void) | undefined;
  let slow = false;
  let timer: { at: number; fn: () => void } | undefined;
  const throttle = createProgressThrottle<Tick>({
    intervalMs,
    now: () => clock,
    schedule: (fn, ms) => {
      const entry = { at: clock + ms, fn };
      timer = entry;
      return () => {
        if (timer === entry) timer = undefined;
      };
    },
    write: async (e) => {
      written.push(e);
      if (slow) await new Promise<void>((r) => (release = r));
    },
  });
  /** Moves the clock, firing the timer when its time has come. */
  const tick = async (ms: number) => {
    clock += ms;
    if (timer && timer.at <= clock) {
      const { fn } = timer;
      timer = undefined;
      fn();
    }
    await new Promise((r) => setImmediate(r));
  };
  return { throttle, written, tick, setSlow: (v: boolean) => (slow = v), release: () => release?.() };
}

describe('progress throttle', () => {
  it('writes at most once per interval, stage changes included, counting from the claim', async () => {
    const t = setup(500);
    const emit = async (e: Tick) => {
      t.throttle.onProgress(e);
      await new Promise((r) => setImmediate(r));
    };
    await emit({ stage: 'decode', progress: 0 });
    await emit({ stage: 'upscale', progress: 0.08 });
    // the claim wrote at t=0: nothing before t=500
    expect(t.written).toEqual([]);
    for (let i = 1; i <= 10; i++) {
      await t.tick(100);
      await emit({ stage: 'upscale', progress: 0.08 + i * 0.07 });
    }
    await emit({ stage: 'resize', progress: 0.9 });
    // t=500 (timer: newest event then), t=1000 (interval); resize waits for t=1500
    expect(t.written.map((e) => e.stage)).toEqual(['upscale', 'upscale']);
    expect(t.written.map((e) => e.progress)).toEqual([0.08 + 4 * 0.07, 0.08 + 9 * 0.07]);
  });

  it('writes the newest held-back event when the interval runs out, with no later event needed', async () => {
    const t = setup(500);
    t.throttle.onProgress({ stage: 'upscale', progress: 0.1 });
    t.throttle.onProgress({ stage: 'encode', progress: 0.9 });
    await t.tick(499);
    expect(t.written).toEqual([]);
    await t.tick(1);
    expect(t.written).toEqual([{ stage: 'encode', progress: 0.9 }]);
  });

  it('flush sends the last event the interval held back', async () => {
    const t = setup(500);
    t.throttle.onProgress({ stage: 'upscale', progress: 0.4 });
    expect(t.written).toEqual([]);
    await t.throttle.flush();
    expect(t.written.map((e) => e.progress)).toEqual([0.4]);
  });

  it('never overlaps writes and discards what is pending when the job ends', async () => {
    const t = setup(0);
    t.setSlow(true);
    t.throttle.onProgress({ stage: 'upscale', progress: 0.1 });
    t.throttle.onProgress({ stage: 'upscale', progress: 0.2 });
    t.throttle.onProgress({ stage: 'upscale', progress: 0.3 });
    expect(t.written).toHaveLength(1);
    const done = t.throttle.discard();
    t.release();
    await done;
    await t.tick(1000);
    expect(t.written.map((e) => e.progress)).toEqual([0.1]);
  });
});
