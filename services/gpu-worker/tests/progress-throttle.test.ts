import type { ProgressEvent } from '@photoenhance/engine';
import { describe, expect, it } from 'vitest';
import { createProgressThrottle } from '../src/progress-throttle.ts';

function setup(intervalMs: number) {
  let clock = 0;
  const written: ProgressEvent[] = [];
  let release: (() => void) | undefined;
  let slow = false;
  const throttle = createProgressThrottle({
    intervalMs,
    now: () => clock,
    write: async (e) => {
      written.push(e);
      if (slow) await new Promise<void>((r) => (release = r));
    },
  });
  return {
    throttle,
    written,
    tick: (ms: number) => (clock += ms),
    setSlow: (v: boolean) => (slow = v),
    release: () => release?.(),
  };
}

describe('progress throttle', () => {
  it('writes on every stage change and at most once per interval within a stage', async () => {
    const t = setup(500);
    // the engine awaits between units of work (ORT runs are async), so writes settle between events
    const emit = async (e: ProgressEvent) => {
      t.throttle.onProgress(e);
      await new Promise((r) => setImmediate(r));
    };
    await emit({ stage: 'decode', progress: 0 });
    await emit({ stage: 'decode', progress: 0.02 });
    await emit({ stage: 'upscale', progress: 0.08 });
    for (let i = 1; i <= 10; i++) {
      t.tick(100);
      await emit({ stage: 'upscale', progress: 0.08 + i * 0.07 });
    }
    await t.throttle.flush();
    // decode at t=0, upscale at t=0 (stage change), then t=500 and t=1000 (interval)
    expect(t.written.map((e) => e.stage)).toEqual(['decode', 'upscale', 'upscale', 'upscale']);
    expect(t.written.map((e) => e.progress)).toEqual([0, 0.08, 0.08 + 5 * 0.07, 0.08 + 10 * 0.07]);
  });

  it('flush sends the last event the interval held back', async () => {
    const t = setup(500);
    t.throttle.onProgress({ stage: 'upscale', progress: 0.1 });
    await new Promise((r) => setImmediate(r));
    t.tick(100);
    t.throttle.onProgress({ stage: 'upscale', progress: 0.4 });
    expect(t.written.map((e) => e.progress)).toEqual([0.1]);
    await t.throttle.flush();
    expect(t.written.map((e) => e.progress)).toEqual([0.1, 0.4]);
  });

  it('sends a stage change that arrives during a write as soon as the write ends', async () => {
    const t = setup(10_000);
    t.setSlow(true);
    t.throttle.onProgress({ stage: 'decode', progress: 0 });
    t.throttle.onProgress({ stage: 'upscale', progress: 0.1 });
    t.throttle.onProgress({ stage: 'upscale', progress: 0.2 });
    expect(t.written).toHaveLength(1);
    t.release();
    await new Promise((r) => setImmediate(r));
    expect(t.written.map((e) => [e.stage, e.progress])).toEqual([
      ['decode', 0],
      ['upscale', 0.2],
    ]);
    t.release();
    await t.throttle.flush();
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
    expect(t.written.map((e) => e.progress)).toEqual([0.1]);
  });
});
