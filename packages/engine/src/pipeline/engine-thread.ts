/**
 * Worker-thread side of createThreadedEngine: owns one in-process engine and answers the main thread.
 * ONNX Runtime's run() blocks the event loop for the whole inference, so a service keeps it here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EnhanceOptionsInput } from '@photoenhance/contracts';
import { isPhotoEnhanceError } from '@photoenhance/contracts';
import type { DetectedFace } from '../face/detect.ts';
import { createEngine, type EngineConfig } from './engine.ts';
import type { RgbFrame } from './types.ts';

export type ToThread =
  | { type: 'warmUp'; id: number; options: EnhanceOptionsInput }
  | { type: 'enhance'; id: number; input: Uint8Array; options: EnhanceOptionsInput }
  | { type: 'enhanceFrame'; id: number; frame: RgbFrame; options: EnhanceOptionsInput; faces?: DetectedFace[] }
  | { type: 'detectFrameFaces'; id: number; frame: RgbFrame; options: EnhanceOptionsInput }
  | { type: 'abort'; id: number }
  | { type: 'close'; id: number };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  retryable?: boolean;
  details?: Record<string, unknown>;
}

if (!parentPort) throw new Error('engine-thread.ts runs only as a worker thread');
const port = parentPort;
const config = workerData as Omit<EngineConfig, 'log'>;
const engine = createEngine({
  ...config,
  log: {
    info: (obj, msg) => port.postMessage({ type: 'log', level: 'info', obj, msg }),
    warn: (obj, msg) => port.postMessage({ type: 'log', level: 'warn', obj, msg }),
  },
});
const running = new Map<number, AbortController>();

function serialize(err: unknown): SerializedError {
  if (isPhotoEnhanceError(err)) {
    return {
      name: err.name,
      message: err.message,
      code: err.code,
      retryable: err.retryable,
      ...(err.details ? { details: err.details } : {}),
    };
  }
  return { name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) };
}

function readiness() {
  port.postMessage({ type: 'readiness', value: engine.readiness() });
}

port.on('message', async (msg: ToThread) => {
  switch (msg.type) {
    case 'warmUp':
      // Readiness goes first so the caller sees it as soon as its promise settles.
      try {
        await engine.warmUp(msg.options);
        readiness();
        port.postMessage({ type: 'done', id: msg.id });
      } catch (err) {
        readiness();
        port.postMessage({ type: 'error', id: msg.id, error: serialize(err) });
      }
      return;
    case 'enhance': {
      const controller = new AbortController();
      running.set(msg.id, controller);
      try {
        const result = await engine.enhance(
          Buffer.from(msg.input.buffer, msg.input.byteOffset, msg.input.byteLength),
          msg.options,
          {
            signal: controller.signal,
            onProgress: (event) => port.postMessage({ type: 'progress', id: msg.id, event }),
          },
        );
        const bytes = new Uint8Array(result.data);
        readiness();
        port.postMessage({ type: 'done', id: msg.id, value: { ...result, data: bytes } }, [bytes.buffer]);
      } catch (err) {
        readiness();
        port.postMessage({ type: 'error', id: msg.id, error: serialize(err) });
      } finally {
        running.delete(msg.id);
      }
      return;
    }
    case 'enhanceFrame': {
      const controller = new AbortController();
      running.set(msg.id, controller);
      try {
        const result = await engine.enhanceFrame(msg.frame, msg.options, {
          signal: controller.signal,
          onProgress: (event) => port.postMessage({ type: 'progress', id: msg.id, event }),
          ...(msg.faces ? { faces: msg.faces } : {}),
        });
        port.postMessage({ type: 'done', id: msg.id, value: result }, [result.frame.data.buffer as ArrayBuffer]);
      } catch (err) {
        port.postMessage({ type: 'error', id: msg.id, error: serialize(err) });
      } finally {
        running.delete(msg.id);
      }
      return;
    }
    case 'detectFrameFaces':
      try {
        port.postMessage({ type: 'done', id: msg.id, value: await engine.detectFrameFaces(msg.frame, msg.options) });
      } catch (err) {
        port.postMessage({ type: 'error', id: msg.id, error: serialize(err) });
      }
      return;
    case 'abort':
      running.get(msg.id)?.abort();
      return;
    case 'close':
      await engine.close();
      port.postMessage({ type: 'done', id: msg.id });
      return;
  }
});
readiness();
