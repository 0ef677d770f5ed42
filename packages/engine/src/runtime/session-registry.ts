import { performance } from 'node:perf_hooks';
import { isPhotoEnhanceError, PhotoEnhanceError } from '@photoenhance/contracts';
import { OnnxGraphBuilder } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import { providerFallbackChain, type RuntimeConfig } from './config.ts';
import { type ModelSession, wrapSession } from './model-session.ts';

/** The subset of pino the registry uses, so any pino-like logger (or none) fits. */
export interface RuntimeLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export type CreateSession = (
  source: string | Uint8Array,
  options: ort.InferenceSession.SessionOptions,
) => Promise<ort.InferenceSession>;

export interface SessionRegistryDeps {
  /** Model id → local file (downloading / preparing it if needed). */
  resolveModel: (id: string) => Promise<{ path: string }>;
  log?: RuntimeLogger;
  /** Session factory; default ort.InferenceSession.create. */
  createSession?: CreateSession;
  /** Providers this onnxruntime build knows; default ort.listSupportedBackends(). */
  supportedProviders?: readonly string[];
}

/** `missing`: not installed (e.g. a face restorer nobody downloaded) — reported, but not a readiness failure. */
export interface GetOptions {
  /** A model the service works without (a face restorer): not being installed is `missing`, not `failed`. */
  optional?: boolean;
  /**
   * ORT's memory pattern pre-plans one block for every activation of a run. Off for face restorers: at
   * GFPGAN size it is +0.55 GiB of peak RSS (1.79 → 1.23 GiB, stand-in, 2 threads) for no measured speed.
   */
  memoryPattern?: boolean;
}

export type ModelState = 'loading' | 'ready' | 'failed' | 'missing';

export interface SessionRegistry {
  /** Creates the session once; concurrent callers share one promise. A failed load is retried on the next call. */
  get(id: string, options?: GetOptions): Promise<ModelSession>;
  /** Loads the model and runs it once on zeros of `inputDims`, so the first real run does not pay for allocation. */
  warmUp(id: string, inputDims: number[]): Promise<void>;
  readiness(): { ready: boolean; models: Record<string, ModelState>; providers: string[] };
  /** Releases one model's session (MODEL_IDLE_SECONDS); the next get() loads it again. */
  release(id: string): Promise<void>;
  /** The leading provider of the list that really loaded; before any load, the configured preference. */
  activeProvider(): string;
  /**
   * Settles which provider works by loading a one-node probe model (no download) unless a model
   * already loaded; resolves to activeProvider(). Call before choosing models by provider.
   */
  resolveProvider(): Promise<string>;
  close(): Promise<void>;
}

const ELEMENT_ARRAYS = {
  float32: Float32Array,
  uint8: Uint8Array,
  int8: Int8Array,
  int32: Int32Array,
} as const;

/** ort.InferenceSession.create for a path or bytes (its overloads do not take the union). */
export const createOrtSession: CreateSession = (source, options) =>
  typeof source === 'string'
    ? ort.InferenceSession.create(source, options)
    : ort.InferenceSession.create(source, options);

/** y = x on one float: enough for onnxruntime to initialise an execution provider. */
function probeModel(): Uint8Array {
  return new OnnxGraphBuilder('provider-probe')
    .input('x', [1])
    .node('Identity', ['x'], ['y'])
    .output('y', [1])
    .toBytes();
}

export function createSessionRegistry(config: RuntimeConfig, deps: SessionRegistryDeps): SessionRegistry {
  const log = deps.log;
  const createSession: CreateSession = deps.createSession ?? createOrtSession;
  // onnxruntime-common silently drops providers this build lacks (dml/coreml on Linux) and would still
  // report them as requested, so drop them here, loudly, to keep activeProvider() truthful.
  const supported = new Set(deps.supportedProviders ?? ort.listSupportedBackends().map((b) => b.name));
  const requested = config.executionProviders.length > 0 ? config.executionProviders : ['cpu'];
  const missing = requested.filter((p) => p !== 'cpu' && !supported.has(p));
  if (missing.length > 0) {
    log?.warn(
      { providers: missing, supported: [...supported] },
      `execution provider(s) ${missing.join(',')} not in this onnxruntime build; ignoring`,
    );
  }
  const chain = providerFallbackChain(requested.filter((p) => !missing.includes(p)));
  /** Index into `chain` of the first list worth trying; moves forward when a provider fails to load. */
  let chainStart = 0;
  /** Until one session has loaded we do not know which providers work: later loads wait for the first. */
  let firstLoad: Promise<unknown> | undefined;
  let closed = false;
  let providerSettled: Promise<void> | undefined;
  const sessions = new Map<string, Promise<ModelSession>>();
  const states = new Map<string, ModelState>();

  function baseOptions(): Omit<ort.InferenceSession.SessionOptions, 'executionProviders'> {
    return {
      graphOptimizationLevel: config.graphOptimizationLevel ?? 'all',
      // Errors only: ORT's warnings (e.g. unused initializers in the shipped BlazeFace file) are noise to users.
      logSeverityLevel: 3,
      ...(config.intraOpThreads !== undefined ? { intraOpNumThreads: config.intraOpThreads } : {}),
    };
  }

  async function createWithFallback(
    id: string,
    source: string | Uint8Array,
    options: GetOptions = {},
  ): Promise<ModelSession> {
    let lastError: unknown;
    for (let i = chainStart; i < chain.length; i++) {
      const providers = chain[i] as string[];
      const started = performance.now();
      try {
        const session = await createSession(source, {
          ...baseOptions(),
          ...(options.memoryPattern === false ? { enableMemPattern: false } : {}),
          executionProviders: providers,
        });
        if (i > chainStart) {
          // Only a success on a shorter list proves the dropped providers were the problem (not the model).
          chainStart = i;
        }
        const provider = providers[0] as string;
        log?.info({ model: id, provider, ms: Math.round(performance.now() - started) }, 'model session created');
        return wrapSession(id, session, provider);
      } catch (err) {
        lastError = err;
        const next = chain[i + 1];
        if (next) {
          log?.warn(
            { model: id, providers, fallback: next, err: err instanceof Error ? err.message : String(err) },
            `execution provider ${providers[0]} failed to load; falling back to ${next.join(',')}`,
          );
        }
      }
    }
    throw new PhotoEnhanceError(
      'MODEL_INVALID',
      `Model ${id} could not be loaded${typeof source === 'string' ? ` from ${source}` : ''}`,
      {
        cause: lastError,
        details: { model: id },
      },
    );
  }

  async function load(id: string, earlier: Promise<unknown> | undefined, options: GetOptions): Promise<ModelSession> {
    let path: string;
    try {
      ({ path } = await deps.resolveModel(id));
    } catch (err) {
      if (isPhotoEnhanceError(err)) throw err;
      throw new PhotoEnhanceError(
        'MODEL_NOT_READY',
        `Model ${id} is not available: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
          details: { model: id },
        },
      );
    }
    if (earlier) await earlier.catch(() => undefined);
    return createWithFallback(id, path, options);
  }

  function get(id: string, options: GetOptions = {}): Promise<ModelSession> {
    if (closed) return Promise.reject(new PhotoEnhanceError('MODEL_NOT_READY', 'The session registry is closed'));
    const existing = sessions.get(id);
    if (existing) return existing;
    states.set(id, 'loading');
    const pending = load(id, firstLoad, options);
    firstLoad ??= pending;
    sessions.set(id, pending);
    pending.then(
      () => states.set(id, 'ready'),
      (err: unknown) => {
        const notInstalled = isPhotoEnhanceError(err) && err.code === 'MODEL_NOT_READY';
        states.set(id, options.optional && notInstalled ? 'missing' : 'failed');
        // Forget the failure so a later call retries (the file may be downloaded by then).
        if (sessions.get(id) === pending) sessions.delete(id);
        if (firstLoad === pending) firstLoad = undefined;
      },
    );
    return pending;
  }

  async function warmUp(id: string, inputDims: number[]): Promise<void> {
    const model = await get(id);
    const feeds: Record<string, ort.Tensor> = {};
    model.inputNames.forEach((name, index) => {
      const meta = model.inputMetadata[index];
      const type = meta?.isTensor ? meta.type : 'float32';
      // Inputs after the first (e.g. a fidelity weight) need fully known shapes to be warmed.
      const dims =
        index === 0 ? inputDims : meta?.isTensor ? meta.shape.map((d) => (typeof d === 'number' ? d : 1)) : [1];
      const ArrayType = ELEMENT_ARRAYS[type as keyof typeof ELEMENT_ARRAYS];
      if (!ArrayType) {
        throw new PhotoEnhanceError('MODEL_INVALID', `Model ${id}: cannot warm up input "${name}" of type ${type}`, {
          details: { model: id },
        });
      }
      const size = dims.reduce((a, b) => a * b, 1);
      feeds[name] = new ort.Tensor(type as 'float32', new ArrayType(size) as Float32Array, dims);
    });
    const started = performance.now();
    await model.run(feeds);
    log?.info({ model: id, dims: inputDims, ms: Math.round(performance.now() - started) }, 'model warmed up');
  }

  return {
    get,
    warmUp,
    readiness() {
      const models = Object.fromEntries(states);
      const values = [...states.values()];
      return {
        ready: !closed && values.some((s) => s === 'ready') && values.every((s) => s === 'ready' || s === 'missing'),
        models,
        providers: [...(chain[chainStart] as string[])],
      };
    },
    async resolveProvider() {
      if (!providerSettled) {
        providerSettled = (async () => {
          // A model that already loaded has settled the providers.
          const loaded = firstLoad
            ? await firstLoad.then(
                () => true,
                () => false,
              )
            : false;
          if (loaded) return;
          const probe = createWithFallback('provider-probe', probeModel());
          firstLoad ??= probe;
          await (await probe).session.release();
        })();
        // A failed probe (even CPU failed) is not cached: the next call tries again.
        providerSettled.catch(() => {
          providerSettled = undefined;
        });
      }
      await providerSettled;
      return (chain[chainStart] as string[])[0] as string;
    },
    activeProvider() {
      return (chain[chainStart] as string[])[0] as string;
    },
    async release(id) {
      const pending = sessions.get(id);
      if (!pending) return;
      sessions.delete(id);
      states.delete(id);
      const loaded = await pending.catch(() => undefined);
      await loaded?.session.release();
    },
    async close() {
      closed = true;
      const pending = [...sessions.values()];
      sessions.clear();
      states.clear();
      const settled = await Promise.allSettled(pending);
      for (const result of settled) {
        if (result.status === 'fulfilled') await result.value.session.release();
      }
    },
  };
}
