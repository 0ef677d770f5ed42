import {
  CommonEnvShape,
  envBool,
  envInt,
  envList,
  envUrl,
  isLoopbackHost,
  isProduction,
  loadConfig,
  SecureDefaultsEnvShape,
  TaskChangesEnvShape,
} from '@photoenhance/core';
import { z } from 'zod';

export const DOWNLOAD_MODES = ['auto', 'redirect', 'proxy'] as const;

/** The API process: common S3/SQS variables plus the HTTP side. */
export const ApiEnvSchema = z.object({
  ...CommonEnvShape,
  PORT: envInt(8000, { min: 0, max: 65_535 }),
  /** Loopback unless told otherwise: a network address needs API_KEYS (or ALLOW_ANONYMOUS=true). */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Absolute base for URLs in responses (behind a proxy); relative paths when unset. */
  PUBLIC_BASE_URL: envUrl().optional(),
  /** Comma-separated origins allowed by CORS, or * (the seed's examples call the API from other origins). */
  CORS_ORIGINS: z.string().min(1).default('*'),
  /**
   * What GET /api/v1/download/{id} answers without ?redirect: proxy (default): 200 with the file, streamed from
   * storage, as PhotoEnhanceAI answers (its clients do not follow redirects). redirect: 302 to a presigned S3
   * URL (offloads the bytes from the API; only for clients that follow redirects). auto: proxy when the public
   * S3 endpoint is a loopback address, redirect otherwise. ?redirect=true / ?redirect=false pick per request.
   */
  DOWNLOAD_MODE: z.enum(DOWNLOAD_MODES).default('proxy'),
  /** Status and event reads of one task share one storage read for this long (0 = off). */
  STATUS_CACHE_MS: envInt(50, { min: 0, max: 5000 }),
  /** Start the embedded S3 + SQS backend inside the API process (single-process local runs). */
  EMBEDDED_BACKEND: envBool(false),
  /** Files per POST /api/v1/enhance/batch, and the whole multipart body's limit (each file still obeys MAX_UPLOAD_BYTES). */
  BATCH_MAX_FILES: envInt(20, { min: 1, max: 1000 }),
  BATCH_MAX_BYTES: envInt(200 * 1024 * 1024, { min: 1024 }),
  /**
   * Server-Sent Events without change notices (separate API and worker processes): how often an instance reads a
   * watched task — once per task for all its viewers. 500 ms: workers write progress at most every
   * PROGRESS_MIN_INTERVAL_MS (2 s), so faster polls would mostly read the same record again.
   */
  SSE_POLL_MS: envInt(500, { min: 10, max: 60_000 }),
  /**
   * With change notices (the embedded launcher's in-process channel, or TASK_CHANGES_TOPIC_ARN): the safety-net read of a watched task,
   * for what no notice announces (a cancel through another instance, a lost notice).
   */
  SSE_FALLBACK_POLL_MS: envInt(5000, { min: 100, max: 300_000 }),
  /** The cross-instance progress channel (TASK_CHANGES_TOPIC_ARN, docs/design.md §7): when set, SSE_FALLBACK_POLL_MS applies. */
  ...TaskChangesEnvShape,
  /** Keep-alive comment interval of an event stream with nothing to send. */
  SSE_KEEPALIVE_MS: envInt(15_000, { min: 100, max: 300_000 }),
  /** Direct uploads (presigned PUT): the largest file, and how long the URL stays valid. */
  DIRECT_UPLOAD_MAX_BYTES: envInt(256 * 1024 * 1024, { min: 1024 }),
  UPLOAD_URL_EXPIRY_SECONDS: envInt(300, { min: 1, max: 3600 }),
  // --- video (issue 19): POST /api/v1/videos ---
  /** The largest video upload; the clip is probed (ffprobe, no decoding) before anything is queued. */
  VIDEO_MAX_UPLOAD_BYTES: envInt(512 * 1024 * 1024, { min: 1024 }),
  VIDEO_MAX_SECONDS: envInt(600, { min: 1 }),
  VIDEO_MAX_FRAMES: envInt(18_000, { min: 1 }),
  /** Pixels of one input frame (the output frame obeys MAX_OUTPUT_PIXELS). */
  VIDEO_MAX_INPUT_PIXELS: envInt(3840 * 2160, { min: 1 }),
  /** Frames per segment job: each segment is one SQS job any worker takes. */
  VIDEO_SEGMENT_FRAMES: envInt(48, { min: 1, max: 100_000 }),
  // --- worker registry, API keys, webhooks (service breadth) ---
  /** Shared secret for signed worker registration (HMAC-SHA256); registration is refused while unset. */
  WORKER_REGISTRATION_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** A worker without a heartbeat for this long is listed as stale (3 missed 30 s heartbeats). */
  WORKER_STALE_AFTER_SECONDS: envInt(90, { min: 5 }),
  /** Stale worker records older than this are deleted when the list is read. */
  WORKER_FORGET_AFTER_SECONDS: envInt(86_400, { min: 60 }),
  /** Comma-separated bearer keys for the client routes; unset = open (the embedded default). */
  API_KEYS: envList(z.string().min(16, 'each key must be at least 16 characters')),
  /** Key for admin routes (GET /api/v1/workers); also accepted on client routes. */
  ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * Signs the short-lived stream tokens a browser's EventSource presents instead of ?api_key= (auth/stream-tokens.ts).
   * Unset: derived from API_KEYS + ADMIN_API_KEY (the same on every instance of a deployment). Set it so rotating
   * a key does not end the tokens in flight, and give every API instance the same value.
   */
  STREAM_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** How long a stream token opens its task's or batch's event stream. */
  STREAM_TOKEN_TTL_SECONDS: envInt(600, { min: 10, max: 86_400 }),
  /** Let callback_url point at loopback/private addresses (on-premises receivers, local tests). */
  CALLBACK_ALLOW_PRIVATE: envBool(false),
  // --- bounds (issue 11): a stalled dependency or a slow client never holds a request open for long ---
  /**
   * Each S3/SQS call from the API: connect and socket-idle bound, one attempt (no SDK retry storm). A stalled
   * server answers the client 503 (Retry-After) within about this long per call.
   */
  BACKEND_TIMEOUT_MS: envInt(1500, { min: 100, max: 60_000 }),
  /** Node server: time to receive a request's headers, the whole request (uploads!), and keep-alive idle. */
  HEADERS_TIMEOUT_MS: envInt(10_000, { min: 1000, max: 600_000 }),
  REQUEST_TIMEOUT_MS: envInt(120_000, { min: 1000, max: 3_600_000 }),
  KEEP_ALIVE_TIMEOUT_MS: envInt(5000, { min: 100, max: 600_000 }),
  // --- tenants, limits, retention (issue 17) ---
  /** Requests per minute per API key (per client address when anonymous), per API instance; 0 = off. */
  RATE_LIMIT_PER_MINUTE: envInt(120, { min: 0, max: 1_000_000 }),
  /** Queued + processing tasks one key may have at once (checked when tasks are created); 0 = off. */
  MAX_ACTIVE_TASKS_PER_KEY: envInt(100, { min: 0, max: 1_000_000 }),
  /** Open event streams per key, and on this API instance in all. */
  MAX_EVENT_STREAMS_PER_KEY: envInt(20, { min: 1, max: 100_000 }),
  MAX_EVENT_STREAMS: envInt(1000, { min: 1, max: 1_000_000 }),
  /** Direct-upload starts verified at once on this instance (each reads the stored object's head); beyond → 503. */
  MAX_CONCURRENT_VERIFICATIONS: envInt(8, { min: 1, max: 1000 }),
  /**
   * Hours a finished task's input, result and record are kept (decimals allowed): reads after that answer 410
   * EXPIRED at once, and the retention sweeper removes the objects.
   */
  RETENTION_HOURS: z.coerce
    .number({ error: 'must be a number of hours' })
    .positive('must be more than 0')
    .max(24 * 3650, 'must be at most ten years')
    .default(24),
  /** How often the retention sweeper runs (expired tasks, orphan inputs, stale uploads). */
  RETENTION_SWEEP_INTERVAL_MS: envInt(10 * 60 * 1000, { min: 1000, max: 24 * 3600 * 1000 }),
  // --- secure defaults (issue 17 §4: hardening) ---
  ...SecureDefaultsEnvShape,
});
export type ApiConfig = z.output<typeof ApiEnvSchema>;

// --- secure defaults (issue 17 §4: hardening) ---
/**
 * Settings that would expose photos, refused at start with the variable to fix: a network listener with no
 * API_KEYS, and in production (NODE_ENV=production, set in the images) no API_KEYS at all or CORS for any origin.
 * ALLOW_ANONYMOUS=true is the explicit opt-out for the key rules, never for CORS in production.
 */
const ApiEnvRules = ApiEnvSchema.superRefine((env, ctx) => {
  const anonymous = env.API_KEYS.length === 0 && !env.ALLOW_ANONYMOUS;
  if (anonymous && !isLoopbackHost(env.HOST)) {
    ctx.addIssue({
      code: 'custom',
      path: ['API_KEYS'],
      message: `is required when HOST=${env.HOST} listens beyond this machine (anyone could upload and read photos): set API_KEYS, or HOST=127.0.0.1, or ALLOW_ANONYMOUS=true to accept an open service`,
    });
  } else if (anonymous && isProduction(env)) {
    ctx.addIssue({
      code: 'custom',
      path: ['API_KEYS'],
      message: 'is required in production (NODE_ENV=production): set API_KEYS, or ALLOW_ANONYMOUS=true',
    });
  }
  if (isProduction(env) && env.CORS_ORIGINS.split(',').some((o) => o.trim() === '*')) {
    ctx.addIssue({
      code: 'custom',
      path: ['CORS_ORIGINS'],
      message: 'must list the allowed origins in production (NODE_ENV=production), not *',
    });
  }
});

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  return loadConfig(ApiEnvRules, env);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Origins the web page is served from: the API's own addresses, PUBLIC_BASE_URL and the listed CORS origins.
 * The embedded backend answers CORS (the page's presigned PUTs) for these only.
 */
export function pageOrigins(
  config: Pick<ApiConfig, 'HOST' | 'PUBLIC_BASE_URL' | 'CORS_ORIGINS'>,
  port: number,
): string[] {
  const origins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]);
  if (!isLoopbackHost(config.HOST) && config.HOST !== '0.0.0.0' && config.HOST !== '::') {
    origins.add(`http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`);
  }
  if (config.PUBLIC_BASE_URL) origins.add(new URL(config.PUBLIC_BASE_URL).origin);
  for (const origin of config.CORS_ORIGINS.split(',')) {
    const trimmed = origin.trim();
    if (trimmed && trimmed !== '*') origins.add(trimmed);
  }
  return [...origins];
}

/** DOWNLOAD_MODE with `auto` decided. */
export function resolveDownloadMode(
  config: Pick<ApiConfig, 'DOWNLOAD_MODE' | 'S3_PUBLIC_ENDPOINT' | 'S3_ENDPOINT'>,
): 'redirect' | 'proxy' {
  if (config.DOWNLOAD_MODE !== 'auto') return config.DOWNLOAD_MODE;
  const endpoint = config.S3_PUBLIC_ENDPOINT ?? config.S3_ENDPOINT;
  if (!endpoint) return 'redirect';
  return LOOPBACK.has(new URL(endpoint).hostname) ? 'proxy' : 'redirect';
}
