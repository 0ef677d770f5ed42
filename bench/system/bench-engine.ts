import type { EnhanceOptionsInput } from '@photoenhance/contracts';
import { createEngine } from '@photoenhance/engine';
import type { WorkerEngine } from '@photoenhance/gpu-worker';

export const ENGINE_KINDS = ['resize', 'x4fast'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

/**
 * The worker's engine for the benchmark.
 * - `x4fast`: undefined, i.e. the launcher's own engine; the upload asks for quality fast, faces off. On a
 *   shared 2-core CPU Real-ESRGAN takes ~5–25 s per 1 MB JPEG, so ten round trips do not fit in minutes.
 * - `resize`: the same real engine (decode, resize, encode, timings) with the Real-ESRGAN stage switched off
 *   (`backgroundUpsampler: false`, which the upload form cannot ask for). Overhead subtracts the engine's
 *   reported time either way, so this measures the same system path with seconds less CPU work per task.
 */
export function createBenchEngine(kind: EngineKind, intraOpThreads: number): WorkerEngine | undefined {
  if (kind === 'x4fast') return undefined;
  const engine = createEngine({
    runtime: { executionProviders: ['cpu'], ...(intraOpThreads > 0 ? { intraOpThreads } : {}) },
  });
  const force: EnhanceOptionsInput = { backgroundUpsampler: false, face: { enabled: false } };
  return {
    warmUp: () => engine.warmUp(force),
    enhance: (input, options, ctx) => engine.enhance(input, { ...options, backgroundUpsampler: false }, ctx),
    close: () => engine.close(),
  };
}
