/**
 * The embedded stack the launcher (scripts/start.ts) runs — fauxqs S3 + SQS, the API, one worker, all in this
 * process — composed from the same exported building blocks, but on loopback, free ports and a temp data dir,
 * so a benchmark never collides with a running `npm start`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadApiConfig, type RunningApi, startApiServer } from '@photoenhance/api';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { type EmbeddedBackend, embeddedEnv, startEmbeddedBackend } from '@photoenhance/core';
import { loadWorkerConfig, startWorkerService, type WorkerEngine, type WorkerService } from '@photoenhance/gpu-worker';

export interface BenchStackOptions {
  /** Extra variables for both processes (e.g. PROGRESS_MIN_INTERVAL_MS); silent logs and loopback are fixed. */
  env?: Record<string, string>;
  /** Replaces the worker's default engine (the launcher's createEngine from config). */
  engine?: WorkerEngine;
}

export interface BenchStack {
  apiUrl: string;
  workerUrl: string;
  /** How often the API's SSE route re-reads a task: the latency floor of an event. */
  ssePollMs: number;
  stop(): Promise<void>;
}

export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pe-bench-'));
  let embedded: EmbeddedBackend | undefined;
  let api: RunningApi | undefined;
  let worker: WorkerService | undefined;
  let ssePollMs = 0;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    // The launcher's order: worker (its queue is embedded, so the idle long poll is aborted), API, backend.
    // Every step runs even when an earlier one fails; the first failure is reported afterwards.
    stopping ??= (async () => {
      const failures: unknown[] = [];
      const step = async (fn: () => Promise<void> | undefined) => {
        try {
          await fn();
        } catch (err) {
          failures.push(err);
        }
      };
      await step(() => worker?.stop({ abortReceive: true, graceMs: 0 }));
      await step(() => api?.stop());
      await step(() => embedded?.stop());
      await step(() => rm(dataDir, { recursive: true, force: true }));
      if (failures.length > 0) {
        throw new PhotoEnhanceError(
          'INTERNAL',
          `Bench stack did not stop cleanly (${failures.length} step(s) failed)`,
          {
            cause: failures[0],
          },
        );
      }
    })();
    return stopping;
  };

  try {
    embedded = await startEmbeddedBackend({ dataDir, port: 0 });
    const env = {
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      ...embeddedEnv(embedded),
      // The load generators send thousands of requests a minute from one address.
      RATE_LIMIT_PER_MINUTE: '0',
      ...options.env,
    };
    const apiConfig = loadApiConfig({ ...env, PORT: '0', HOST: '127.0.0.1', EMBEDDED_BACKEND: 'false' });
    ssePollMs = apiConfig.SSE_POLL_MS;
    api = await startApiServer(apiConfig, createLogger(apiConfig.LOG_LEVEL));
    const workerConfig = loadWorkerConfig({
      WORKER_ID: 'bench-worker-1',
      // A short long poll only matters at shutdown; a job wakes the receive either way.
      WORKER_WAIT_TIME_SECONDS: '1',
      ...env,
      WORKER_PORT: '0',
      WORKER_HOST: '127.0.0.1',
    });
    worker = await startWorkerService({ config: workerConfig, ...(options.engine ? { engine: options.engine } : {}) });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { apiUrl: api.url, workerUrl: `http://127.0.0.1:${worker.port}`, ssePollMs, stop };
}
