import { PhotoEnhanceError } from '@photoenhance/contracts';
import { z } from 'zod';

/**
 * Execution providers onnxruntime-node can be asked for. 'cpu' is always bundled; the others need
 * their libraries (CUDA, TensorRT…) on the machine and fall back to CPU when they fail to load.
 */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'webgpu', 'dml', 'coreml', 'xnnpack', 'qnn'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export const GRAPH_OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;

export interface RuntimeConfig {
  executionProviders: string[];
  intraOpThreads?: number;
  graphOptimizationLevel?: (typeof GRAPH_OPTIMIZATION_LEVELS)[number];
}

/**
 * "cuda, CPU" → ['cuda', 'cpu']: trimmed, lower-cased, duplicates dropped. Unknown names are a
 * configuration error (ORT would only fail later, at the first session).
 */
export function parseExecutionProviders(text: string): string[] {
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  const unique = [...new Set(names)];
  if (unique.length === 0) {
    throw new PhotoEnhanceError('INVALID_OPTIONS', 'No execution provider given (expected e.g. "cuda,cpu")');
  }
  const unknown = unique.filter((n) => !(EXECUTION_PROVIDERS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new PhotoEnhanceError(
      'INVALID_OPTIONS',
      `Unknown execution provider(s): ${unknown.join(', ')} (known: ${EXECUTION_PROVIDERS.join(', ')})`,
      { details: { unknown } },
    );
  }
  return unique;
}

/**
 * The one parser for provider lists as zod, for environment schemas (EXECUTION_PROVIDERS): the same rules
 * and messages as the CLI's --providers, so a typo is refused everywhere instead of silently meaning CPU.
 */
export const ExecutionProvidersSchema = z.string().transform((text, ctx) => {
  try {
    return parseExecutionProviders(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
});

/**
 * The provider lists to try, most preferred first: each failure drops the leading provider, and a
 * CPU-only list always ends the chain so a broken GPU setup degrades instead of refusing to start.
 * Providers listed after 'cpu' could never be reached and are ignored.
 * ['cuda','cpu'] → [['cuda','cpu'], ['cpu']].
 */
export function providerFallbackChain(providers: readonly string[]): string[][] {
  const cpuAt = providers.indexOf('cpu');
  const accelerators = cpuAt >= 0 ? providers.slice(0, cpuAt) : [...providers];
  const chain = accelerators.map((_, i) => [...accelerators.slice(i), 'cpu']);
  chain.push(['cpu']);
  return chain;
}
