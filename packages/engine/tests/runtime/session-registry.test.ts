import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isPhotoEnhanceError } from '@photoenhance/contracts';
import { OnnxGraphBuilder } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExecutionProviders, providerFallbackChain } from '../../src/runtime/config.ts';
import {
  type CreateSession,
  createOrtSession,
  createSessionRegistry,
  type RuntimeLogger,
} from '../../src/runtime/session-registry.ts';

/** y = x · factor, dynamic NCHW: small and quick to load. */
function scaleModel(factor: number, dims: (number | string)[] = ['n', 3, 'h', 'w']): Uint8Array {
  return new OnnxGraphBuilder('mul')
    .input('x', dims)
    .initializer('k', [1], Float32Array.of(factor))
    .node('Mul', ['x', 'k'], ['y'])
    .output('y', dims)
    .toBytes();
}

function recordingLogger(): RuntimeLogger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, warn: (_o, msg) => warnings.push(msg ?? ''), info: (_o, msg) => infos.push(msg ?? '') };
}

let dir: string;
const files: Record<string, string> = {};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'registry-test-'));
  const write = (name: string, bytes: Uint8Array) => {
    files[name] = join(dir, `${name}.onnx`);
    writeFileSync(files[name]!, bytes);
  };
  write('double', scaleModel(2));
  write('triple', scaleModel(3));
  write('fixed8', scaleModel(1, [1, 3, 8, 8]));
  write('corrupt', new TextEncoder().encode('not an onnx model'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function resolver(calls: string[] = []) {
  return async (id: string) => {
    calls.push(id);
    const path = files[id];
    if (!path) throw new Error(`no such model ${id}`);
    return { path };
  };
}

async function runDouble(session: ort.InferenceSession): Promise<number[]> {
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [1, 3, 1, 1]) });
  return Array.from(out.y!.data as Float32Array);
}

describe('parseExecutionProviders', () => {
  it('reads a comma list: trimmed, lower-cased, without duplicates', () => {
    expect(parseExecutionProviders(' cuda, CPU ,cuda')).toEqual(['cuda', 'cpu']);
    expect(parseExecutionProviders('cpu')).toEqual(['cpu']);
  });

  it('refuses unknown or empty lists with INVALID_OPTIONS', () => {
    expect(() => parseExecutionProviders('cuda,gpu9000')).toThrow(/gpu9000/);
    expect(() => parseExecutionProviders(' , ')).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('builds the fallback chain down to CPU, ignoring what follows cpu', () => {
    expect(providerFallbackChain(['tensorrt', 'cuda', 'cpu'])).toEqual([
      ['tensorrt', 'cuda', 'cpu'],
      ['cuda', 'cpu'],
      ['cpu'],
    ]);
    expect(providerFallbackChain(['cuda'])).toEqual([['cuda', 'cpu'], ['cpu']]);
    expect(providerFallbackChain(['cpu', 'cuda'])).toEqual([['cpu']]);
  });
});

describe('createSessionRegistry', () => {
  it('creates a session once for concurrent callers and reports readiness', async () => {
    const calls: string[] = [];
    const registry = createSessionRegistry({ executionProviders: ['cpu'] }, { resolveModel: resolver(calls) });
    expect(registry.readiness()).toEqual({ ready: false, models: {}, providers: ['cpu'] });
    const [a, b] = [registry.get('double'), registry.get('double')];
    expect(registry.readiness().models).toEqual({ double: 'loading' });
    const [sa, sb] = await Promise.all([a, b]);
    expect(sa).toBe(sb);
    expect(calls).toEqual(['double']);
    expect(sa.provider).toBe('cpu');
    expect(await runDouble(sa.session)).toEqual([2, 4, 6]);
    expect(sa.inputNames).toEqual(['x']);
    expect(registry.readiness()).toEqual({ ready: true, models: { double: 'ready' }, providers: ['cpu'] });
    await registry.close();
  });

  it('releases one model on request (MODEL_IDLE_SECONDS) and loads it again on the next get', async () => {
    const calls: string[] = [];
    const released: string[] = [];
    const createSession: CreateSession = async (path, options) => {
      const session = await createOrtSession(path, options);
      const release = session.release.bind(session);
      session.release = async () => {
        released.push(String(path));
        await release();
      };
      return session;
    };
    const registry = createSessionRegistry(
      { executionProviders: ['cpu'] },
      { resolveModel: resolver(calls), createSession },
    );
    const first = await registry.get('double');
    await registry.get('triple');
    await registry.release('double');
    expect(released).toEqual([files.double]);
    expect(registry.readiness().models).toEqual({ triple: 'ready' });
    const again = await registry.get('double');
    expect(again).not.toBe(first);
    expect(await runDouble(again.session)).toEqual([2, 4, 6]);
    expect(calls).toEqual(['double', 'triple', 'double']);
    await registry.release('never-loaded'); // nothing to do, no error
    await registry.close();
  });

  it('opens a model without the memory pattern when asked (face restorers)', async () => {
    const seen: ort.InferenceSession.SessionOptions[] = [];
    const createSession: CreateSession = (path, options) => {
      seen.push(options);
      return createOrtSession(path, options);
    };
    const registry = createSessionRegistry(
      { executionProviders: ['cpu'] },
      { resolveModel: resolver(), createSession },
    );
    await registry.get('double', { memoryPattern: false });
    await registry.get('triple');
    expect(seen.map((o) => o.enableMemPattern)).toEqual([false, undefined]);
    await registry.close();
  });

  it('passes thread count, optimisation level and an errors-only log level to onnxruntime', async () => {
    const seen: ort.InferenceSession.SessionOptions[] = [];
    const createSession: CreateSession = (path, options) => {
      seen.push(options);
      return createOrtSession(path, options);
    };
    const registry = createSessionRegistry(
      { executionProviders: ['cpu'], intraOpThreads: 1, graphOptimizationLevel: 'basic' },
      { resolveModel: resolver(), createSession },
    );
    await registry.get('double');
    expect(seen).toEqual([
      { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'basic', logSeverityLevel: 3 },
    ]);
    await registry.close();
  });

  it('falls back to CPU with a warning when an accelerator fails to load, and remembers it', async () => {
    const log = recordingLogger();
    const tried: string[][] = [];
    // Behaves like onnxruntime-node without the CUDA libraries: any list led by cuda fails to load.
    const createSession: CreateSession = (path, options) => {
      const providers = (options.executionProviders ?? []) as string[];
      tried.push(providers);
      if (providers[0] === 'cuda')
        return Promise.reject(
          new Error('OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library'),
        );
      return createOrtSession(path, options);
    };
    const registry = createSessionRegistry(
      { executionProviders: ['cuda', 'cpu'] },
      { resolveModel: resolver(), createSession, supportedProviders: ['cpu', 'cuda'], log },
    );
    expect(registry.activeProvider()).toBe('cuda'); // not yet proven otherwise
    const [double, triple] = await Promise.all([registry.get('double'), registry.get('triple')]);
    expect(double.provider).toBe('cpu');
    expect(triple.provider).toBe('cpu');
    expect(registry.activeProvider()).toBe('cpu');
    expect(registry.readiness().providers).toEqual(['cpu']);
    expect(log.warnings).toEqual([expect.stringContaining('cuda failed to load')]);
    // The second model waited for the first and did not try CUDA again.
    expect(tried).toEqual([['cuda', 'cpu'], ['cpu'], ['cpu']]);
    expect(await runDouble(double.session)).toEqual([2, 4, 6]);
    await registry.close();
  });

  it('settles the provider with a probe model before any real model is loaded', async () => {
    const log = recordingLogger();
    const tried: string[][] = [];
    const createSession: CreateSession = (source, options) => {
      const providers = (options.executionProviders ?? []) as string[];
      tried.push(providers);
      if (providers[0] === 'cuda') return Promise.reject(new Error('Failed to load shared library'));
      return createOrtSession(source, options);
    };
    const calls: string[] = [];
    const registry = createSessionRegistry(
      { executionProviders: ['cuda', 'cpu'] },
      { resolveModel: resolver(calls), createSession, supportedProviders: ['cpu', 'cuda'], log },
    );
    const [a, b] = await Promise.all([registry.resolveProvider(), registry.resolveProvider()]);
    expect([a, b]).toEqual(['cpu', 'cpu']);
    expect(calls).toEqual([]); // no model was needed
    expect(log.warnings.length).toBe(1);
    await registry.get('double');
    expect(tried).toEqual([['cuda', 'cpu'], ['cpu'], ['cpu']]);
    await registry.close();
  });

  it('does not blame a working provider for a broken model file (MODEL_INVALID)', async () => {
    // "cuda" here really loads (on CPU) so only the model can be at fault.
    const createSession: CreateSession = (path, options) =>
      createOrtSession(path, { ...options, executionProviders: ['cpu'] });
    const registry = createSessionRegistry(
      { executionProviders: ['cuda', 'cpu'] },
      { resolveModel: resolver(), createSession, supportedProviders: ['cpu', 'cuda'] },
    );
    const error = await registry.get('corrupt').catch((e: unknown) => e);
    expect(isPhotoEnhanceError(error) && error.code).toBe('MODEL_INVALID');
    expect(registry.readiness().models).toEqual({ corrupt: 'failed' });
    expect(registry.activeProvider()).toBe('cuda');
    expect((await registry.get('double')).provider).toBe('cuda');
    await registry.close();
  });

  it('ignores, with a warning, providers this onnxruntime build does not have', async () => {
    const log = recordingLogger();
    const registry = createSessionRegistry(
      { executionProviders: ['coreml', 'cpu'] },
      { resolveModel: resolver(), supportedProviders: ['cpu'], log },
    );
    expect(log.warnings).toEqual([expect.stringContaining('coreml')]);
    expect(registry.activeProvider()).toBe('cpu');
    expect((await registry.get('double')).provider).toBe('cpu');
    await registry.close();
  });

  it('really falls back from cuda on a machine without the CUDA provider libraries', async () => {
    const bindingDir = dirname(
      createRequire(import.meta.url).resolve(
        `onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`,
      ),
    );
    const cudaInstalled = existsSync(join(bindingDir, 'libonnxruntime_providers_cuda.so'));
    const log = recordingLogger();
    const registry = createSessionRegistry(
      { executionProviders: parseExecutionProviders('cuda,cpu') },
      { resolveModel: resolver(), log },
    );
    const model = await registry.get('double');
    expect(await runDouble(model.session)).toEqual([2, 4, 6]);
    expect(registry.activeProvider()).toBe(cudaInstalled ? 'cuda' : 'cpu');
    expect(log.warnings.length).toBe(cudaInstalled ? 0 : 1);
    await registry.close();
  });

  it('reports an optional model that is not installed as missing without making the registry unready', async () => {
    const registry = createSessionRegistry(
      { executionProviders: ['cpu'] },
      {
        resolveModel: async (id) => {
          if (id === 'restorer') throw new Error('not downloaded');
          return resolver()(id);
        },
      },
    );
    await registry.get('double');
    await expect(registry.get('restorer', { optional: true })).rejects.toMatchObject({ code: 'MODEL_NOT_READY' });
    expect(registry.readiness()).toMatchObject({ ready: true, models: { double: 'ready', restorer: 'missing' } });
    // The same failure on a model the service needs is a readiness failure.
    await expect(registry.get('restorer')).rejects.toMatchObject({ code: 'MODEL_NOT_READY' });
    expect(registry.readiness()).toMatchObject({ ready: false, models: { restorer: 'failed' } });
    await registry.close();
  });

  it('turns a resolver failure into MODEL_NOT_READY and retries on the next call', async () => {
    let attempts = 0;
    const registry = createSessionRegistry(
      { executionProviders: ['cpu'] },
      {
        resolveModel: async (id) => {
          attempts += 1;
          if (attempts === 1) throw new Error('download interrupted');
          return resolver()(id);
        },
      },
    );
    await expect(registry.get('double')).rejects.toMatchObject({ code: 'MODEL_NOT_READY', retryable: true });
    expect(registry.readiness()).toMatchObject({ ready: false, models: { double: 'failed' } });
    const session = await registry.get('double');
    expect(await runDouble(session.session)).toEqual([2, 4, 6]);
    expect(attempts).toBe(2);
    expect(registry.readiness().ready).toBe(true);
    await registry.close();
  });

  it('warms a model up on the given shape, and reports a shape it cannot take', async () => {
    const log = recordingLogger();
    const registry = createSessionRegistry({ executionProviders: ['cpu'] }, { resolveModel: resolver(), log });
    await registry.warmUp('fixed8', [1, 3, 8, 8]);
    expect(log.infos).toContain('model warmed up');
    await expect(registry.warmUp('fixed8', [1, 3, 9, 9])).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringContaining('fixed8'),
    });
    await registry.close();
  });

  it('refuses work after close', async () => {
    const registry = createSessionRegistry({ executionProviders: ['cpu'] }, { resolveModel: resolver() });
    await registry.get('double');
    await registry.close();
    expect(registry.readiness().ready).toBe(false);
    await expect(registry.get('double')).rejects.toMatchObject({ code: 'MODEL_NOT_READY' });
  });
});
