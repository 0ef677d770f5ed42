import type { HealthResponse } from '@photoenhance/contracts';
import type { WorkerSummary } from '../workers/schemas.ts';

/** Execution providers that mean a GPU (ONNX Runtime names, lower-cased). */
const GPU_PROVIDERS = new Set(['cuda', 'tensorrt', 'rocm', 'dml', 'directml', 'coreml', 'webgpu']);
const CUDA_PROVIDERS = new Set(['cuda', 'tensorrt']);

function provider(worker: Pick<WorkerSummary, 'active_provider'>): string {
  return (worker.active_provider ?? 'cpu').toLowerCase().replace(/executionprovider$/, '');
}

/**
 * PhotoEnhanceAI's model_status, from the alive registered workers (the API runs no model): initialized when
 * one has warmed up (any state but warming), cuda_available when one runs on CUDA/TensorRT, device cuda when
 * any runs on a GPU provider, cpu when they all run on CPU, none when no worker is registered.
 */
export function modelStatus(
  alive: readonly Pick<WorkerSummary, 'state' | 'active_provider'>[],
): HealthResponse['model_status'] {
  const warm = alive.filter((w) => w.state !== 'warming' && w.state !== 'stopping');
  return {
    initialized: warm.length > 0,
    cuda_available: alive.some((w) => CUDA_PROVIDERS.has(provider(w))),
    device: alive.length === 0 ? 'none' : alive.some((w) => GPU_PROVIDERS.has(provider(w))) ? 'cuda' : 'cpu',
  };
}

export interface CachedReadOptions {
  /** A value older than this is read again (in the background once one is known). */
  maxAgeMs: number;
  /** How long a caller waits for a fresh read before taking the last value (or the fallback). */
  waitMs: number;
}

/**
 * A reader for /health: liveness must answer at once even while storage or the queue hangs (/ready is the
 * one that reports them), so it waits at most `waitMs` for a read, one read in flight at a time, and
 * otherwise answers the last value it had, or `fallback` ("nothing known") before the first one.
 */
export function cachedRead<T>(read: () => Promise<T>, fallback: T, options: CachedReadOptions): () => Promise<T> {
  let last: { value: T; at: number } | undefined;
  let inFlight: Promise<void> | undefined;
  return async () => {
    if (last && Date.now() - last.at <= options.maxAgeMs) return last.value;
    inFlight ??= read()
      .then((value) => {
        last = { value, at: Date.now() };
      })
      .catch(() => {
        // An unreachable dependency: keep the last value; /ready names the dependency.
      })
      .finally(() => {
        inFlight = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      inFlight,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.waitMs);
      }),
    ]);
    clearTimeout(timer);
    return last?.value ?? fallback;
  };
}
