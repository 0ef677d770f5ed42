import { Worker } from 'node:worker_threads';
import { ERROR_CODES, type ErrorCode, PhotoEnhanceError } from '@photoenhance/contracts';
import type { DetectedFace } from '../face/detect.ts';
import type { Engine, EngineConfig, EngineReadiness } from './engine.ts';
import type { SerializedError } from './engine-thread.ts';
import type { EnhanceResult, FrameContext, FrameResult, ProgressEvent, RgbFrame, RunContext } from './types.ts';

type FromThread =
  | { type: 'progress'; id: number; event: ProgressEvent }
  | { type: 'done'; id: number; value?: Omit<EnhanceResult, 'data'> & { data: Uint8Array } }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'readiness'; value: EngineReadiness }
  | { type: 'log'; level: 'info' | 'warn'; obj: object | string; msg?: string };

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  onProgress?: (event: ProgressEvent) => void;
}

function revive(error: SerializedError): Error {
  if (error.code && error.code in ERROR_CODES) {
    return new PhotoEnhanceError(error.code as ErrorCode, error.message, {
      ...(error.retryable === undefined ? {} : { retryable: error.retryable }),
      ...(error.details ? { details: error.details } : {}),
    });
  }
  const err = new Error(error.message);
  err.name = error.name;
  return err;
}

/**
 * The same Engine, run on a worker thread. ONNX Runtime's run() holds the calling thread for the whole
 * inference (seconds per tile on a CPU), which would stall a service's heartbeats, health checks and
 * HTTP traffic; here the event loop stays free and the engine's progress and cancellation still flow.
 */
export function createThreadedEngine(config: EngineConfig): Engine {
  const { log, ...threadConfig } = config;
  const worker = new Worker(new URL('./engine-thread.ts', import.meta.url), { workerData: threadConfig });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let state: EngineReadiness = { ready: false, provider: config.runtime.executionProviders[0] ?? 'cpu', models: {} };
  let failure: Error | undefined;

  worker.on('message', (msg: FromThread) => {
    if (msg.type === 'readiness') {
      state = msg.value;
      return;
    }
    if (msg.type === 'log') {
      log?.[msg.level](msg.obj, msg.msg);
      return;
    }
    const call = pending.get(msg.id);
    if (!call) return;
    if (msg.type === 'progress') {
      call.onProgress?.(msg.event);
      return;
    }
    pending.delete(msg.id);
    if (msg.type === 'error') call.reject(revive(msg.error));
    else call.resolve(msg.value);
  });
  const failAll = (err: Error) => {
    failure = err;
    for (const call of pending.values())
      call.reject(
        new PhotoEnhanceError('INTERNAL', `Engine thread stopped: ${err.message}`, { cause: err, retryable: true }),
      );
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => {
    if (!failure) failAll(new Error(`exited with code ${code}`));
  });

  function call<T>(
    message: Record<string, unknown>,
    transfer: ArrayBuffer[] = [],
    onProgress?: (e: ProgressEvent) => void,
  ): { id: number; done: Promise<T> } {
    const id = nextId++;
    const done = new Promise<T>((resolve, reject) => {
      if (failure) {
        reject(
          new PhotoEnhanceError('INTERNAL', `Engine thread stopped: ${failure.message}`, {
            cause: failure,
            retryable: true,
          }),
        );
        return;
      }
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(onProgress ? { onProgress } : {}) });
      worker.postMessage({ ...message, id }, transfer);
    });
    return { id, done };
  }

  return {
    async warmUp(options = {}) {
      await call({ type: 'warmUp', options }).done;
    },
    readiness: () => state,
    async enhance(input, options = {}, ctx: RunContext = {}) {
      if (ctx.signal?.aborted) throw new PhotoEnhanceError('CANCELLED', 'The operation was cancelled');
      const copy = new Uint8Array(input); // the caller keeps its buffer; the copy moves to the thread
      const { id, done } = call<Omit<EnhanceResult, 'data'> & { data: Uint8Array }>(
        { type: 'enhance', input: copy, options },
        [copy.buffer],
        ctx.onProgress,
      );
      const onAbort = () => worker.postMessage({ type: 'abort', id });
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const value = await done;
        return { ...value, data: Buffer.from(value.data.buffer, value.data.byteOffset, value.data.byteLength) };
      } finally {
        ctx.signal?.removeEventListener('abort', onAbort);
      }
    },
    async enhanceFrame(frame: RgbFrame, options = {}, ctx: FrameContext = {}) {
      if (ctx.signal?.aborted) throw new PhotoEnhanceError('CANCELLED', 'The operation was cancelled');
      const data = new Uint8Array(frame.data); // the caller keeps its frame; the copy moves to the thread
      const { id, done } = call<FrameResult>(
        { type: 'enhanceFrame', frame: { width: frame.width, height: frame.height, data }, options, faces: ctx.faces },
        [data.buffer],
        ctx.onProgress,
      );
      const onAbort = () => worker.postMessage({ type: 'abort', id });
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await done;
      } finally {
        ctx.signal?.removeEventListener('abort', onAbort);
      }
    },
    async detectFrameFaces(frame: RgbFrame, options = {}) {
      return call<DetectedFace[]>({ type: 'detectFrameFaces', frame, options }).done;
    },
    async close() {
      if (!failure) await call({ type: 'close' }).done.catch(() => {});
      await worker.terminate();
    },
  };
}
