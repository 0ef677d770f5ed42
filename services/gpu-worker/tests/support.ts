/**
 * Test support for the worker: a real embedded S3 + SQS backend per test file, a task submitter that does what
 * the API does (input object, queued record, job message), and a small sharp-based engine whose speed the
 * tests control (the worker's queue semantics are under test here, not the models).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type EnhanceOptionsInput,
  EnhanceOptionsSchema,
  newId,
  PhotoEnhanceError,
  type TaskRecord,
  throwIfAborted,
} from '@photoenhance/contracts';
import {
  type Backend,
  CommonEnvSchema,
  connectBackend,
  createTaskRepository,
  type EmbeddedBackend,
  embeddedEnv,
  keys,
  loadConfig,
  startEmbeddedBackend,
} from '@photoenhance/core';
import type { EnhanceResult, RunContext } from '@photoenhance/engine';
import sharp from 'sharp';
import { afterAll, beforeAll } from 'vitest';
import type { WorkerTimings } from '../src/config.ts';
import type { JobOutcome } from '../src/metrics.ts';
import type { WorkerEngine, WorkerLogger, WorkerStorage } from '../src/ports.ts';
import { type CreateWorkerOptions, createWorker } from '../src/worker.ts';

export const silentLogger: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function testTimings(overrides: Partial<WorkerTimings> = {}): WorkerTimings {
  return {
    workerId: `test-${newId().slice(0, 8)}`,
    waitTimeSeconds: 1,
    visibilityTimeoutSeconds: 2,
    heartbeatMs: 500,
    concurrency: 1,
    recordGraceMs: 2000,
    cancelPollMs: 100,
    shutdownGraceMs: 5000,
    progressIntervalMs: 50,
    retryBackoffSeconds: 0,
    dlqReapIntervalMs: 0,
    ...overrides,
  };
}

export interface TestBackendHandle {
  embedded: EmbeddedBackend;
  /** A backend with its own queue + DLQ (unique names), so tests in one file do not see each other's jobs. */
  connect(options?: { maxReceiveCount?: number }): Promise<Backend>;
  close(): Promise<void>;
}

export async function startTestBackend(): Promise<TestBackendHandle> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pe-worker-'));
  const embedded = await startEmbeddedBackend({ dataDir, port: 0 });
  const backends: Backend[] = [];
  return {
    embedded,
    async connect(options = {}) {
      const suffix = newId().slice(0, 8);
      const config = loadConfig(CommonEnvSchema, {
        ...embeddedEnv(embedded),
        SQS_QUEUE_NAME: `jobs-${suffix}`,
        SQS_DLQ_NAME: `dlq-${suffix}`,
        MAX_RECEIVE_COUNT: String(options.maxReceiveCount ?? 3),
        VISIBILITY_TIMEOUT: '10',
      });
      const backend = await connectBackend(config);
      backends.push(backend);
      return backend;
    },
    async close() {
      for (const b of backends) b.close();
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One embedded backend for the calling test file: started before its tests, closed after them. Call at the
 * top level of the file; connect() is usable inside tests.
 */
export function useTestBackend(): Pick<TestBackendHandle, 'connect'> {
  let stack: TestBackendHandle | undefined;
  beforeAll(async () => {
    stack = await startTestBackend();
  });
  afterAll(async () => {
    await stack?.close();
  });
  return {
    connect(options) {
      if (!stack) throw new Error('useTestBackend: connect() called before the backend started');
      return stack.connect(options);
    },
  };
}

/**
 * A worker over the given storage + queue with a scale engine, recording each job's outcome. `started` is the
 * start() promise: tests that need the loop running before they go on await it.
 */
export function startTestWorker(
  backend: { storage: WorkerStorage; queue: Backend['queue'] },
  engineOptions: ScaleEngineOptions = {},
  timing: Partial<WorkerTimings> = {},
  fencing: CreateWorkerOptions['fencing'] = 'auto',
) {
  const engine = createScaleEngine(engineOptions);
  const outcomes: JobOutcome[] = [];
  const worker = createWorker({
    storage: backend.storage,
    queue: backend.queue,
    engine,
    config: testTimings(timing),
    logger: silentLogger,
    fencing,
    onJobDone: (o) => outcomes.push(o),
  });
  return { worker, engine, outcomes, started: worker.start() };
}

export async function pngImage(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 120, b: 40 } } })
    .png()
    .toBuffer();
}

/** What the API does on upload: store the input, write the queued record, send the job. */
export async function submitTask(
  backend: Pick<Backend, 'storage' | 'queue'>,
  image: Buffer,
  options: EnhanceOptionsInput = {},
  filename = 'photo.png',
): Promise<string> {
  const taskId = newId();
  const inputKey = keys.input(taskId, filename);
  await backend.storage.put(inputKey, image, { contentType: 'image/png' });
  const meta = await sharp(image).metadata();
  const parsedOptions = EnhanceOptionsSchema.parse(options);
  const now = new Date().toISOString();
  await createTaskRepository(backend.storage).write({
    taskId,
    status: 'queued',
    options: parsedOptions,
    input: {
      key: inputKey,
      filename,
      contentType: 'image/png',
      bytes: image.length,
      width: meta.width ?? 1,
      height: meta.height ?? 1,
      format: meta.format ?? 'png',
    },
    createdAt: now,
    updatedAt: now,
  });
  await backend.queue.send({ version: 1, taskId, inputKey, options: parsedOptions });
  return taskId;
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'condition'}`);
    await sleep(options.intervalMs ?? 50);
  }
}

export function waitForStatus(
  storage: Backend['storage'],
  taskId: string,
  statuses: TaskRecord['status'][],
  timeoutMs = 20_000,
): Promise<TaskRecord> {
  return waitFor(
    async () => {
      const r = await createTaskRepository(storage).readState(taskId);
      return r && statuses.includes(r.status) ? r : undefined;
    },
    { timeoutMs, what: `task ${taskId} to be ${statuses.join('|')}` },
  );
}

export interface ScaleEngineOptions {
  /** Simulated work: this many progress steps… */
  steps?: number;
  /** …each this long (ms), checking the AbortSignal in between like the real engine does between tiles. */
  stepMs?: number;
  /** Throw this instead of producing a result. */
  failWith?: () => Error;
}

/** A real (if plain) enhancer: Lanczos resize by options.scale with sharp, progress and cancellation. */
export function createScaleEngine(engineOptions: ScaleEngineOptions = {}) {
  const calls: string[] = [];
  let warmedUp = false;
  const engine: WorkerEngine & { calls: string[]; warmedUp(): boolean } = {
    calls,
    warmedUp: () => warmedUp,
    async warmUp() {
      await sleep(20);
      warmedUp = true;
    },
    async enhance(input: Buffer, rawOptions: EnhanceOptionsInput, ctx: RunContext): Promise<EnhanceResult> {
      const options = EnhanceOptionsSchema.parse(rawOptions);
      const meta = await sharp(input)
        .metadata()
        .catch((cause: unknown) => {
          throw new PhotoEnhanceError('CORRUPT_IMAGE', 'The image could not be decoded', { cause });
        });
      calls.push(`${meta.width}x${meta.height}`);
      const steps = engineOptions.steps ?? 2;
      for (let i = 0; i < steps; i++) {
        throwIfAborted(ctx.signal);
        ctx.onProgress?.({ stage: 'upscale', progress: i / steps, done: i, total: steps });
        await sleep(engineOptions.stepMs ?? 10);
      }
      throwIfAborted(ctx.signal);
      if (engineOptions.failWith) throw engineOptions.failWith();
      const width = Math.round((meta.width ?? 1) * options.scale);
      const height = Math.round((meta.height ?? 1) * options.scale);
      const data = await sharp(input).resize(width, height, { kernel: 'lanczos3' }).png().toBuffer();
      return {
        data,
        format: 'png',
        width,
        height,
        input: { format: meta.format ?? 'png', width: meta.width ?? 1, height: meta.height ?? 1, bytes: input.length },
        faces: { detected: 0, restored: 0, skipped: [] },
        models: ['lanczos3'],
        timings: {},
        warnings: [],
      };
    },
    async close() {},
  };
  return engine;
}
