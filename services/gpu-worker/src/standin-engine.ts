import { setTimeout as sleep } from 'node:timers/promises';
import { PhotoEnhanceError, throwIfAborted } from '@photoenhance/contracts';
import type { EnhanceResult, RunContext } from '@photoenhance/engine';
import type { WorkerEngine } from './ports.ts';

/** Progress events the stand-in sends over its cost, as the real engine does per tile. */
const STEPS = 10;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * WORKER_STANDIN_ENGINE_MS: the engine stage replaced by a wait of fixed cost, for the fleet benches and tests
 * (queue, claims, storage, fencing, scaling) — what a GPU worker's host does while its GPU works, without
 * models or CPU. It is never a service: the config refuses it when NODE_ENV=production, and every result says
 * "stand-in". It takes PNG inputs and stores them unchanged (size read from the IHDR chunk by hand: the
 * worker does not load an image library for a bench).
 */
export function createStandinEngine(costMs: number): WorkerEngine {
  return {
    async warmUp() {},
    async enhance(input: Buffer, _options: unknown, ctx: RunContext): Promise<EnhanceResult> {
      if (input.length < 24 || !input.subarray(0, 8).equals(PNG_SIGNATURE)) {
        throw new PhotoEnhanceError('INVALID_INPUT', 'The stand-in engine (benches and tests only) takes PNG inputs');
      }
      const width = input.readUInt32BE(16);
      const height = input.readUInt32BE(20);
      for (let i = 0; i < STEPS; i++) {
        throwIfAborted(ctx.signal);
        ctx.onProgress?.({ stage: 'upscale', progress: i / STEPS, done: i, total: STEPS });
        await sleep(costMs / STEPS, undefined, { signal: ctx.signal }).catch(() => undefined);
      }
      throwIfAborted(ctx.signal);
      return {
        data: input,
        format: 'png',
        width,
        height,
        input: { format: 'png', width, height, bytes: input.length },
        faces: { detected: 0, restored: 0, skipped: [] },
        models: ['standin'],
        timings: { upscale: costMs / 1000 },
        warnings: ['Made by the stand-in engine (WORKER_STANDIN_ENGINE_MS): the input unchanged, for benches only'],
      };
    },
    async close() {},
  };
}
