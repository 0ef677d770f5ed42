/**
 * The benchmark's moving parts against the real embedded stack (fauxqs + API + worker, resize engine so a
 * task takes well under a second): if these drift from the API, the benchmark's numbers would be wrong.
 */

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBenchEngine } from '../system/bench-engine.ts';
import { measureBurst, measureRoundTrip } from '../system/measure.ts';
import { type BenchStack, startBenchStack } from '../system/stack.ts';
import { runGetLoad } from '../system/status-load.ts';
import { detectWaitMode, type WaitOptions } from '../system/task-client.ts';
import { benchJpeg } from '../system/test-image.ts';

const fields = { quality_level: 'fast', face: 'false', scale: '1' };
let stack: BenchStack;
let image: Buffer;

beforeAll(async () => {
  image = (await benchJpeg(60_000)).image;
  stack = await startBenchStack({ engine: createBenchEngine('resize', 1) });
});
afterAll(async () => {
  await stack?.stop();
});

describe('benchJpeg', () => {
  it('is a deterministic JPEG near the requested size', async () => {
    const a = await benchJpeg(200_000);
    const b = await benchJpeg(200_000);
    expect(a.image.equals(b.image)).toBe(true);
    expect(a.image.length).toBeGreaterThan(150_000);
    expect(a.image.length).toBeLessThan(250_000);
    const meta = await sharp(a.image).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', a.width, a.height]);
  });
});

describe('round trips on the embedded stack', () => {
  for (const mode of ['poll', 'sse'] as const) {
    it(`${mode}: phases add up and the engine's time is taken out`, async () => {
      const wait: WaitOptions = { mode, pollMs: 20, timeoutMs: 30_000 };
      const rt = await measureRoundTrip({ apiUrl: stack.apiUrl, image, fields, wait });
      expect(rt.uploadMs + rt.waitMs + rt.downloadMs).toBeCloseTo(rt.totalMs, 6);
      expect(rt.engineMs).toBeGreaterThan(0);
      expect(rt.engineMs).toBeLessThan(rt.waitMs);
      expect(rt.overheadMs).toBeCloseTo(rt.totalMs - rt.engineMs, 6);
      expect(rt.queueMs).toBeGreaterThanOrEqual(0);
      expect(rt.resultBytes).toBeGreaterThan(1000);
    });
  }

  it('finds the events route of an existing task', async () => {
    const rt = await measureRoundTrip({
      apiUrl: stack.apiUrl,
      image,
      fields,
      wait: { mode: 'poll', pollMs: 20, timeoutMs: 30_000 },
    });
    expect(await detectWaitMode(stack.apiUrl, rt.taskId)).toBe('sse');
  });

  it('a burst finishes every task, the first no later than the last', async () => {
    const burst = await measureBurst(
      { apiUrl: stack.apiUrl, image, fields, wait: { mode: 'poll', pollMs: 20, timeoutMs: 30_000 } },
      3,
    );
    expect(burst.firstResultMs).toBeGreaterThan(burst.firstEngineMs);
    expect(burst.firstResultMs).toBeLessThanOrEqual(burst.lastResultMs);
    expect(burst.uploadsMs).toBeLessThan(burst.firstResultMs);
  });
});

describe('runGetLoad', () => {
  it('reports throughput and latency of a live route, and counts non-2xx answers as failures', async () => {
    const ok = await runGetLoad(`${stack.apiUrl}/health`, { connections: 2, durationS: 1 });
    expect(ok.requests).toBeGreaterThan(0);
    expect(ok.reqPerSec).toBeGreaterThan(0);
    expect(ok.failures).toBe(0);
    expect(ok.latencyMs.p99).toBeGreaterThanOrEqual(ok.latencyMs.p50);
    expect(ok.serverCpuMsPerRequest).toBeGreaterThan(0);
    const missing = await runGetLoad(`${stack.apiUrl}/api/v1/status/not-an-id`, { connections: 1, durationS: 1 });
    expect(missing.failures).toBe(missing.requests);
  });
});
