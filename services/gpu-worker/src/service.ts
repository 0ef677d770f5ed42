import { type Backend, connectBackend, createEngine } from '@photoenhance/core';
import { type WorkerConfig, workerTimings } from './config.ts';
import { createHealthServer } from './health-server.ts';
import { createLogger } from './logger.ts';
import type { WorkerEngine, WorkerLogger } from './ports.ts';
import { createWorker, type StopOptions, type Worker } from './worker.ts';

export interface WorkerServiceOptions {
  config: WorkerConfig;
  /** An already connected backend (the launcher shares its own); otherwise one is connected from config. */
  backend?: Backend;
  /** Defaults to the real engine configured from EXECUTION_PROVIDERS / ORT_INTRA_OP_THREADS and the limits. */
  engine?: WorkerEngine;
  logger?: WorkerLogger;
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
  const logger = options.logger ?? createLogger(config.LOG_LEVEL, { workerId: config.WORKER_ID });
  const ownBackend = !options.backend;
  const backend = options.backend ?? (await connectBackend(config));
  const engine =
    options.engine ??
    createEngine({
      runtime: {
        executionProviders: config.EXECUTION_PROVIDERS,
        ...(config.ORT_INTRA_OP_THREADS > 0 ? { intraOpThreads: config.ORT_INTRA_OP_THREADS } : {}),
      },
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
  const worker = createWorker({
    storage: backend.storage,
    queue: backend.queue,
    engine,
    config: workerTimings(config),
    logger,
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

  let stopping: Promise<void> | undefined;
  return {
    worker,
    port,
    stop(stopOptions = {}) {
      stopping ??= (async () => {
        await worker.stop(stopOptions);
        await engine.close();
        await health.close();
        if (ownBackend) backend.close();
      })();
      return stopping;
    },
  };
}
