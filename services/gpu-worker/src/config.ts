import { hostname } from 'node:os';
import { CommonEnvShape, envInt, loadConfig } from '@photoenhance/core';
import { z } from 'zod';

/** Worker process variables on top of the shared S3/SQS ones (design.md §6). */
export const WorkerEnvSchema = z.object({
  ...CommonEnvShape,
  /** Stable name in logs, task records and the registry; defaults to host + pid. */
  WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1–128 letters, digits, . _ or -')
    .default(
      `${hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 100)}-${process.pid}`,
    ),
  /** Health/readiness/metrics port; 0 picks a free one. */
  WORKER_PORT: envInt(8001, { min: 0, max: 65_535 }),
  WORKER_HOST: z.string().min(1).default('0.0.0.0'),
  /** SQS long poll per receive (0–20 s). */
  WORKER_WAIT_TIME_SECONDS: envInt(20, { min: 0, max: 20 }),
  /** Heartbeat (visibility extension) period; 0 = a third of VISIBILITY_TIMEOUT. */
  WORKER_HEARTBEAT_MS: envInt(0, { min: 0 }),
  /** How often a running job looks for a cancel marker. */
  WORKER_CANCEL_POLL_MS: envInt(2000, { min: 100 }),
  /** Time a running job gets to finish after SIGTERM before it is aborted and released to the queue. */
  WORKER_SHUTDOWN_GRACE_MS: envInt(25_000, { min: 0 }),
  /** Minimum gap between two progress writes within one engine stage. */
  WORKER_PROGRESS_INTERVAL_MS: envInt(500, { min: 0 }),
  /** Visibility (s) after a transient failure, doubled per attempt: the retry waits instead of spinning. */
  WORKER_RETRY_BACKOFF_SECONDS: envInt(5, { min: 0, max: 900 }),
  /** How often this worker drains the dead-letter queue (marks tasks EXHAUSTED); 0 = never. */
  WORKER_DLQ_REAP_INTERVAL_MS: envInt(30_000, { min: 0 }),
  /** Comma-separated ONNX Runtime execution providers, most preferred first (cuda,cpu); CPU is the fallback. */
  EXECUTION_PROVIDERS: z
    .string()
    .regex(/^\s*[a-z]+(\s*,\s*[a-z]+)*\s*$/i, 'must be a comma-separated list such as cuda,cpu')
    .default('cpu')
    .transform((text) => [...new Set(text.split(',').map((s) => s.trim().toLowerCase()))]),
  ORT_INTRA_OP_THREADS: envInt(0, { min: 0, max: 256 }),
});
export type WorkerConfig = z.output<typeof WorkerEnvSchema>;

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  return loadConfig(WorkerEnvSchema, env);
}

/** Timing knobs the worker loop uses, in one place so tests can shorten them. */
export interface WorkerTimings {
  workerId: string;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  heartbeatMs: number;
  cancelPollMs: number;
  shutdownGraceMs: number;
  progressIntervalMs: number;
  retryBackoffSeconds: number;
  dlqReapIntervalMs: number;
}

export function workerTimings(config: WorkerConfig): WorkerTimings {
  return {
    workerId: config.WORKER_ID,
    waitTimeSeconds: config.WORKER_WAIT_TIME_SECONDS,
    visibilityTimeoutSeconds: config.VISIBILITY_TIMEOUT,
    heartbeatMs: config.WORKER_HEARTBEAT_MS || Math.floor((config.VISIBILITY_TIMEOUT * 1000) / 3),
    cancelPollMs: config.WORKER_CANCEL_POLL_MS,
    shutdownGraceMs: config.WORKER_SHUTDOWN_GRACE_MS,
    progressIntervalMs: config.WORKER_PROGRESS_INTERVAL_MS,
    retryBackoffSeconds: config.WORKER_RETRY_BACKOFF_SECONDS,
    dlqReapIntervalMs: config.WORKER_DLQ_REAP_INTERVAL_MS,
  };
}
