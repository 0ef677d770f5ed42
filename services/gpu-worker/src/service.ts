import { type Backend, connectBackend, createCallbackSender, type TaskChangeChannel } from '@photoenhance/core';
import { createThreadedEngine, processMemoryLimit } from '@photoenhance/engine';
import { type WorkerConfig, workerTimings } from './config.ts';
import { createHealthServer } from './health-server.ts';
import { createLogger } from './logger.ts';
import { createWorkerMetrics } from './metrics.ts';
import type { WorkerEngine, WorkerLogger } from './ports.ts';
import { createWorkerRegistration } from './registration/setup.ts';
import { createStandinEngine } from './standin-engine.ts';
import { createWorker, type StopOptions, type Worker } from './worker.ts';

export interface WorkerServiceOptions {
  config: WorkerConfig;
  /** An already connected backend (the launcher shares its own); otherwise one is connected from config. */
  backend?: Backend;
  /** Defaults to the real engine configured from EXECUTION_PROVIDERS / ORT_INTRA_OP_THREADS and the limits. */
  engine?: WorkerEngine;
  logger?: WorkerLogger;
  /** Record writes are announced here (the launcher shares an in-process channel with its API). */
  taskChanges?: TaskChangeChannel;
}

export interface WorkerService {
  worker: Worker;
  /** Port of the health/readiness/metrics server. */
  port: number;
  /** Stops receiving, finishes or releases the current job (grace period), then closes everything it opened. */
  stop(options?: StopOptions): Promise<void>;
}

/**
 * A whole worker process minus signal handling: backend, engine, health server, consumer loop. The health
 * server answers before warm-up (so /health is live and /ready says 503 while models load).
 */
export async function startWorkerService(options: WorkerServiceOptions): Promise<WorkerService> {
  const { config } = options;
  const logger =
    options.logger ?? createLogger(config.LOG_LEVEL, { workerId: config.WORKER_ID }, config.LOG_REF_SECRET);
  const ownBackend = !options.backend;
  // Bounded calls: a stalled server fails the call (retried, never a task failure) instead of hanging the job;
  // the long poll needs its wait time on top.
  const backend =
    options.backend ??
    (await connectBackend(config, {
      s3: { connectionTimeoutMs: 2000, idleTimeoutMs: 15_000 },
      sqs: { connectionTimeoutMs: 2000, idleTimeoutMs: (config.WORKER_WAIT_TIME_SECONDS + 10) * 1000 },
    }));
  if (!options.engine && config.WORKER_STANDIN_ENGINE_MS > 0) {
    logger.warn(
      { costMs: config.WORKER_STANDIN_ENGINE_MS },
      'STAND-IN ENGINE: results are the inputs unchanged (benches only)',
    );
  }
  const engine =
    options.engine ??
    (config.WORKER_STANDIN_ENGINE_MS > 0 ? createStandinEngine(config.WORKER_STANDIN_ENGINE_MS) : undefined) ??
    createThreadedEngine({
      runtime: {
        executionProviders: config.EXECUTION_PROVIDERS,
        ...(config.ORT_INTRA_OP_THREADS > 0 ? { intraOpThreads: config.ORT_INTRA_OP_THREADS } : {}),
      },
      ...(config.MODEL_IDLE_SECONDS > 0 ? { modelIdleSeconds: config.MODEL_IDLE_SECONDS } : {}),
      constantWeightRestorers: config.RESTORER_CONSTANT_WEIGHTS,
      // A job that cannot fit fails before it starts (MEMORY_BUDGET_EXCEEDED, not retried) instead of an OOM kill.
      memory:
        config.WORKER_MEMORY_BUDGET_MB > 0
          ? {
              budgetBytes: config.WORKER_MEMORY_BUDGET_MB * 1024 * 1024,
              holder: 'this worker (WORKER_MEMORY_BUDGET_MB)',
            }
          : { limitBytes: processMemoryLimit(), holder: 'this worker' },
      limits: {
        maxFileBytes: config.MAX_UPLOAD_BYTES,
        maxInputPixels: config.MAX_INPUT_PIXELS,
        maxOutputPixels: config.MAX_OUTPUT_PIXELS,
      },
      log: {
        info: (o: object | string, m?: string) => (typeof o === 'string' ? logger.info({}, o) : logger.info(o, m)),
        warn: (o: object | string, m?: string) => (typeof o === 'string' ? logger.warn({}, o) : logger.warn(o, m)),
      },
    });
  const metrics = createWorkerMetrics();
  if (!config.CALLBACK_SECRET) logger.info({}, 'CALLBACK_SECRET is not set: client webhooks are sent unsigned');
  const callbackSender = createCallbackSender({
    secret: config.CALLBACK_SECRET,
    allowPrivate: config.CALLBACK_ALLOW_PRIVATE,
    timeoutMs: config.CALLBACK_TIMEOUT_MS,
    maxAttempts: config.CALLBACK_MAX_ATTEMPTS,
    logger,
    onResult: (r) => metrics.callbacks.inc({ outcome: r.delivered ? 'delivered' : r.refused ? 'refused' : 'failed' }),
  });
  const worker = createWorker({
    storage: backend.storage,
    queue: backend.queue,
    engine,
    config: workerTimings(config),
    logger,
    metrics,
    callbacks: { sender: callbackSender, baseUrl: config.PUBLIC_BASE_URL },
    ...(options.taskChanges ? { taskChanges: options.taskChanges } : {}),
  });
  const health = createHealthServer({ ready: worker.isReady, describe: worker.describe }, worker.metrics);
  const port = await health.listen(config.WORKER_PORT, config.WORKER_HOST);
  logger.info({ port }, 'worker health server listening (/health, /ready, /metrics)');
  try {
    await worker.start();
  } catch (err) {
    await health.close();
    await engine.close();
    if (ownBackend) backend.close();
    throw err;
  }
  // After warm-up: a registered worker is one that can take jobs. Registration runs in the background and
  // never blocks or stops the consumer loop.
  const registration = createWorkerRegistration({ config, worker, engine, port, logger, metrics });
  registration?.start();

  let stopping: Promise<void> | undefined;
  return {
    worker,
    port,
    stop(stopOptions = {}) {
      stopping ??= (async () => {
        // Goodbye first, so the registry stops counting on this worker while it finishes its job.
        await registration?.stop();
        await worker.stop(stopOptions);
        // Webhooks of the last jobs get a moment to go out; their remaining retries are dropped after it.
        await callbackSender.drain(Math.min(5000, stopOptions.graceMs ?? config.WORKER_SHUTDOWN_GRACE_MS));
        await engine.close();
        await health.close();
        if (ownBackend) backend.close();
      })();
      return stopping;
    },
  };
}
