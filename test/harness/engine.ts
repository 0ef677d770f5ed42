import type { EnhanceOptionsInput } from '@photoenhance/contracts';
import { createEngine } from '@photoenhance/engine';
import type { WorkerEngine } from '@photoenhance/gpu-worker';

/**
 * The real engine, sized for tests: CPU, one ORT thread (test files run side by side on 2 cores), and
 * warm-up with the options the tests use (x4fast, no faces) so no face model is needed.
 */
export function createTestEngine(): WorkerEngine {
  const engine = createEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: 1 } });
  return {
    warmUp: () => engine.warmUp(FAST_OPTIONS),
    enhance: (input, options, ctx) => engine.enhance(input, options, ctx),
    // Video frames (segment jobs) through the same engine.
    enhanceFrame: (frame, options, ctx) => engine.enhanceFrame(frame, options, ctx),
    detectFrameFaces: (frame, options) => engine.detectFrameFaces(frame, options),
    close: () => engine.close(),
  };
}

/** x4fast, faces off: seconds per small image on a CPU. */
export const FAST_OPTIONS: EnhanceOptionsInput = { quality: 'fast', face: { enabled: false } };

/** The same choice as upload form fields (the seed's names plus scale/face). */
export const FAST_FORM = { quality_level: 'low', face: 'false' } as const;
