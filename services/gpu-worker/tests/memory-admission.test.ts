/**
 * Memory admission through the real engine: a photo whose estimate is over the worker's budget fails on its
 * first delivery with MEMORY_BUDGET_EXCEEDED, is acknowledged (never redelivered), and the same worker then
 * runs the next job.
 */
import { estimateJobMemory } from '@photoenhance/contracts';
import { createTaskRepository } from '@photoenhance/core';
import { createEngine } from '@photoenhance/engine';
import { describe, expect, it } from 'vitest';
import type { JobOutcome } from '../src/metrics.ts';
import { createWorker } from '../src/worker.ts';
import { pngImage, silentLogger, submitTask, testTimings, useTestBackend, waitFor, waitForStatus } from './support.ts';

const stack = useTestBackend();
const MB = 1024 * 1024;

describe('worker memory admission', () => {
  it('fails an over-budget job at once with the code, acknowledges it and stays alive for the next job', async () => {
    const backend = await stack.connect({ maxReceiveCount: 3 });
    const big = { width: 1200, height: 900, scale: 4 };
    const small = { width: 24, height: 16, scale: 1 };
    const job = (p: typeof big) => ({
      width: p.width,
      height: p.height,
      scale: p.scale,
      upscaleModel: 'realesrgan-x4fast',
      faces: 0,
      outputFormat: 'png',
    });
    // A budget between the two jobs' estimates: the small one fits, the big one cannot.
    const budgetBytes = Math.round((estimateJobMemory(job(small)).bytes + estimateJobMemory(job(big)).bytes) / 2);
    expect(estimateJobMemory(job(big)).bytes).toBeGreaterThan(budgetBytes);
    const engine = createEngine({
      runtime: { executionProviders: ['cpu'], intraOpThreads: 1 },
      memory: { budgetBytes, holder: 'this worker' },
    });
    const outcomes: JobOutcome[] = [];
    const worker = createWorker({
      storage: backend.storage,
      queue: backend.queue,
      engine,
      config: testTimings(),
      logger: silentLogger,
      onJobDone: (o) => outcomes.push(o),
    });
    void worker.start();
    try {
      const options = { quality: 'fast' as const, face: { enabled: false }, output: { format: 'png' as const } };
      const refused = await submitTask(backend, await pngImage(big.width, big.height), {
        ...options,
        scale: big.scale,
      });
      const failed = await waitForStatus(backend.storage, refused, ['failed', 'completed'], 30_000);
      expect(failed.status).toBe('failed');
      expect(failed.attempts).toBe(1);
      expect(failed.error?.code).toBe('MEMORY_BUDGET_EXCEEDED');
      expect(failed.error?.message).toMatch(/1200×900 photo at ×4 needs about \d+ MB; this worker has \d+ MB/);
      expect(failed.error?.message).toContain(`${Math.floor(budgetBytes / MB)} MB`);

      const ok = await submitTask(backend, await pngImage(small.width, small.height), { ...options, scale: 1 });
      const done = await waitForStatus(backend.storage, ok, ['failed', 'completed'], 60_000);
      expect(done.status).toBe('completed');
      // The outcome is reported once the message is acknowledged, just after the record is written.
      await waitFor(async () => outcomes.length === 2);
      expect(outcomes).toEqual(['failed', 'completed']);
      // Acknowledged, not left to redelivery or the dead-letter queue.
      await waitFor(async () => {
        const depth = await backend.queue.depth();
        return depth.visible === 0 && depth.inFlight === 0;
      });
      expect((await createTaskRepository(backend.storage).read(refused))?.attempts).toBe(1);
    } finally {
      await worker.stop();
      await engine.close();
    }
  });
});
