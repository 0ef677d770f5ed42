import { hostname } from 'node:os';
import {
  CommonEnvShape,
  envBool,
  envInt,
  envList,
  envUrl,
  isProduction,
  loadConfig,
  SecureDefaultsEnvShape,
} from '@photoenhance/core';
import { ExecutionProvidersSchema } from '@photoenhance/engine';
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
  /** Health/metrics listen address: loopback unless told otherwise (the images set 0.0.0.0 for probes). */
  WORKER_HOST: z.string().min(1).default('127.0.0.1'),
  /** SQS long poll per receive (0–20 s). */
  WORKER_WAIT_TIME_SECONDS: envInt(20, { min: 0, max: 20 }),
  /**
   * Visibility a received job gets, renewed by the heartbeat while it runs: a killed worker's job is back in
   * the queue after at most this long. 0 = min(VISIBILITY_TIMEOUT, 30).
   */
  WORKER_LEASE_SECONDS: envInt(0, { min: 0, max: 43_200 }),
  /** Heartbeat (visibility extension) period; 0 = a third of the lease. */
  WORKER_HEARTBEAT_MS: envInt(0, { min: 0 }),
  /** Jobs one worker process runs at once (like sqs-consumer's `concurrency`); one per GPU is the norm. */
  WORKER_CONCURRENCY: envInt(1, { min: 1, max: 10 }),
  /**
   * How long a job waits for its task record: the API sends the job before writing the record, so a record
   * still missing this long after the message was sent means the request died in between.
   */
  WORKER_RECORD_GRACE_MS: envInt(30_000, { min: 0, max: 600_000 }),
  /** How often a running job looks for a cancel marker. */
  WORKER_CANCEL_POLL_MS: envInt(2000, { min: 100 }),
  /** Time a running job gets to finish after SIGTERM before it is aborted and released to the queue. */
  WORKER_SHUTDOWN_GRACE_MS: envInt(25_000, { min: 0 }),
  /**
   * Least time between two progress writes of a task record, stage changes included (the final state is always
   * written). 2 s: a viewer still sees a long job move every 2 s (the web app animates between updates), while
   * a ~1 s job writes no progress at all and a 60 s GPU job 30 PUTs ($150 per million such jobs at $0.005 per
   * 1,000 PUTs) instead of 120 at the former 500 ms.
   */
  PROGRESS_MIN_INTERVAL_MS: envInt(2000, { min: 0, max: 600_000 }),
  /** Visibility (s) after a transient failure, doubled per attempt: the retry waits instead of spinning. */
  WORKER_RETRY_BACKOFF_SECONDS: envInt(5, { min: 0, max: 900 }),
  /** How often this worker drains the dead-letter queue (marks tasks EXHAUSTED); 0 = never. */
  // 60 s: with the 20 s long poll an idle worker makes 4 SQS requests a minute (3 receives + 1 DLQ look); a dead
  // letter is marked EXHAUSTED at most a minute later, which nobody waits on.
  WORKER_DLQ_REAP_INTERVAL_MS: envInt(60_000, { min: 0 }),
  /** Comma-separated ONNX Runtime execution providers, most preferred first (cuda,cpu); CPU is the fallback. */
  EXECUTION_PROVIDERS: ExecutionProvidersSchema.default(['cpu']),
  ORT_INTRA_OP_THREADS: envInt(0, { min: 0, max: 256 }),
  /** Face restorer sessions unused this many seconds are released (hundreds of MB each); 0 = never. */
  MODEL_IDLE_SECONDS: envInt(0, { min: 0 }),
  /**
   * Open GFPGAN-form restorers from their constant-weight copy (made once into <model dir>/derived):
   * 8–33 % faster faces on CPU for 350 MB disk and some peak RSS per restorer; false = as exported.
   */
  RESTORER_CONSTANT_WEIGHTS: envBool(true),
  /**
   * Benches and tests only: the engine stage becomes a wait of this many ms (standin-engine.ts), so the fleet can
   * be measured with N workers on a small machine. 0 = the real engine. Refused when NODE_ENV=production.
   */
  WORKER_STANDIN_ENGINE_MS: envInt(0, { min: 0, max: 600_000 }),
  // --- self-registration and client webhooks (service breadth) ---
  /** The API's base URL: the worker registers at {REGISTER_URL}/api/v1/workers/register after warm-up. */
  REGISTER_URL: envUrl().optional(),
  /** An external gateway endpoint that receives every register/heartbeat/deregister (same signed body). */
  GATEWAY_URL: envUrl().optional(),
  /**
   * signed (default): GATEWAY_URL gets this project's HMAC-signed announcements. photoenhanceai: a gateway built
   * for PhotoEnhanceAI gets its one register POST {"ip", "port", "secret"}, the secret in clear in the body.
   */
  GATEWAY_PROTOCOL: z.enum(['signed', 'photoenhanceai']).default('signed'),
  /** photoenhanceai protocol: the shared secret put in the body (PhotoEnhanceAI's SECRET). Never logged. */
  GATEWAY_SECRET: z.string().min(1).optional(),
  /** photoenhanceai protocol: the port announced, where the gateway sends clients: the API's (8000). */
  GATEWAY_ANNOUNCE_PORT: envInt(8000, { min: 1, max: 65_535 }),
  /** photoenhanceai protocol: allow an http:// GATEWAY_URL (the secret then crosses the network readable). */
  GATEWAY_ALLOW_HTTP: envBool(false),
  /** Shared HMAC secret for registration; required once REGISTER_URL or GATEWAY_URL is set. Never logged. */
  WORKER_REGISTRATION_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** URL where this worker's health/metrics server is reachable; skips address discovery. */
  PUBLIC_URL: envUrl().optional(),
  /** Discovery steps tried when PUBLIC_URL is unset, in order (none = no URL is announced). */
  ADDRESS_DISCOVERY: z
    .string()
    .default('imds,ip-lookup,interface')
    .transform((text) =>
      text
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s && s !== 'none'),
    )
    .pipe(z.array(z.enum(['imds', 'ip-lookup', 'interface'], 'each must be imds, ip-lookup, interface or none'))),
  /** EC2 instance metadata (IMDSv2) base URL. */
  IMDS_URL: envUrl().default('http://169.254.169.254'),
  /** Comma-separated services that answer with the caller's public IP (plain text or {"ip": …}). */
  IP_LOOKUP_URLS: envList(z.url('each must be a URL')),
  ADDRESS_DISCOVERY_TIMEOUT_MS: envInt(1500, { min: 50, max: 30_000 }),
  /** Registration heartbeat period. */
  REGISTRATION_HEARTBEAT_MS: envInt(30_000, { min: 100 }),
  /** Signs client webhooks (x-photoenhance-signature); unsigned when unset. Never logged. */
  CALLBACK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Let webhooks reach loopback/private addresses (on-premises receivers, local tests). */
  CALLBACK_ALLOW_PRIVATE: envBool(false),
  CALLBACK_MAX_ATTEMPTS: envInt(6, { min: 1, max: 20 }),
  CALLBACK_TIMEOUT_MS: envInt(10_000, { min: 100, max: 120_000 }),
  /** The API's public base URL, for absolute status/download links in webhooks (relative when unset). */
  PUBLIC_BASE_URL: envUrl().optional(),
  // --- secure defaults (issue 17 §4: hardening) ---
  NODE_ENV: SecureDefaultsEnvShape.NODE_ENV,
});
export type WorkerConfig = z.output<typeof WorkerEnvSchema>;

/** Rules that span variables, checked by loadWorkerConfig after each variable parsed on its own. */
const WorkerEnvRules = WorkerEnvSchema.superRefine((env, ctx) => {
  if (env.WORKER_STANDIN_ENGINE_MS > 0 && env.NODE_ENV === 'production') {
    ctx.addIssue({
      code: 'custom',
      path: ['WORKER_STANDIN_ENGINE_MS'],
      message: 'is a stand-in engine for benches and tests only; it is refused when NODE_ENV=production',
    });
  }
  const seedGateway = env.GATEWAY_PROTOCOL === 'photoenhanceai';
  if ((env.REGISTER_URL || (env.GATEWAY_URL && !seedGateway)) && !env.WORKER_REGISTRATION_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['WORKER_REGISTRATION_SECRET'],
      message: 'is required when REGISTER_URL or GATEWAY_URL is set',
    });
  }
  // Webhooks are always signed in production: a receiver must be able to tell them from forgeries.
  if (isProduction(env) && !env.CALLBACK_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['CALLBACK_SECRET'],
      message: 'is required in production (NODE_ENV=production): webhooks are always signed (16+ characters)',
    });
  }
  if (seedGateway) {
    if (!env.GATEWAY_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEWAY_URL'],
        message: 'is required when GATEWAY_PROTOCOL=photoenhanceai',
      });
    } else if (new URL(env.GATEWAY_URL).protocol !== 'https:' && !env.GATEWAY_ALLOW_HTTP) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEWAY_URL'],
        message:
          'must be https:// with GATEWAY_PROTOCOL=photoenhanceai (the secret travels in the body); set GATEWAY_ALLOW_HTTP=true to send it over plain HTTP anyway',
      });
    }
    if (!env.GATEWAY_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEWAY_SECRET'],
        message: 'is required when GATEWAY_PROTOCOL=photoenhanceai',
      });
    }
  }
});

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  return loadConfig(WorkerEnvRules, env);
}

/** Timing knobs the worker loop uses, in one place so tests can shorten them. */
export interface WorkerTimings {
  workerId: string;
  waitTimeSeconds: number;
  /** The lease: visibility given at receive and renewed by each heartbeat. */
  visibilityTimeoutSeconds: number;
  heartbeatMs: number;
  /** Jobs run at once. */
  concurrency: number;
  /** See WORKER_RECORD_GRACE_MS. */
  recordGraceMs: number;
  cancelPollMs: number;
  shutdownGraceMs: number;
  progressIntervalMs: number;
  retryBackoffSeconds: number;
  dlqReapIntervalMs: number;
}

export function workerTimings(config: WorkerConfig): WorkerTimings {
  const lease = config.WORKER_LEASE_SECONDS || Math.min(config.VISIBILITY_TIMEOUT, 30);
  return {
    workerId: config.WORKER_ID,
    waitTimeSeconds: config.WORKER_WAIT_TIME_SECONDS,
    visibilityTimeoutSeconds: lease,
    heartbeatMs: config.WORKER_HEARTBEAT_MS || Math.floor((lease * 1000) / 3),
    concurrency: config.WORKER_CONCURRENCY,
    recordGraceMs: config.WORKER_RECORD_GRACE_MS,
    cancelPollMs: config.WORKER_CANCEL_POLL_MS,
    shutdownGraceMs: config.WORKER_SHUTDOWN_GRACE_MS,
    progressIntervalMs: config.PROGRESS_MIN_INTERVAL_MS,
    retryBackoffSeconds: config.WORKER_RETRY_BACKOFF_SECONDS,
    dlqReapIntervalMs: config.WORKER_DLQ_REAP_INTERVAL_MS,
  };
}
