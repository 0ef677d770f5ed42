import { CommonEnvShape, envBool, envInt, envList, envUrl, loadConfig } from '@photoenhance/core';
import { z } from 'zod';

export const DOWNLOAD_MODES = ['auto', 'redirect', 'proxy'] as const;

/** The API process: common S3/SQS variables plus the HTTP side. */
export const ApiEnvSchema = z.object({
  ...CommonEnvShape,
  PORT: envInt(8000, { min: 0, max: 65_535 }),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Absolute base for URLs in responses (behind a proxy); relative paths when unset. */
  PUBLIC_BASE_URL: envUrl().optional(),
  /** Comma-separated origins allowed by CORS, or * (the seed's examples call the API from other origins). */
  CORS_ORIGINS: z.string().min(1).default('*'),
  /**
   * redirect: 302 to a presigned S3 URL (the scalable default). proxy: the API streams the object itself,
   * for object stores without CORS (the embedded fauxqs), where a browser fetch cannot follow the redirect.
   * auto: proxy when the public S3 endpoint is a loopback address, redirect otherwise.
   */
  DOWNLOAD_MODE: z.enum(DOWNLOAD_MODES).default('auto'),
  /** Status and event reads of one task share one storage read for this long (0 = off). */
  STATUS_CACHE_MS: envInt(50, { min: 0, max: 5000 }),
  /** Start the embedded S3 + SQS backend inside the API process (single-process local runs). */
  EMBEDDED_BACKEND: envBool(false),
  /** Files per POST /api/v1/enhance/batch, and the whole multipart body's limit (each file still obeys MAX_UPLOAD_BYTES). */
  BATCH_MAX_FILES: envInt(20, { min: 1, max: 1000 }),
  BATCH_MAX_BYTES: envInt(200 * 1024 * 1024, { min: 1024 }),
  /** Server-Sent Events: how often the task record is polled, and the keep-alive comment interval. */
  SSE_POLL_MS: envInt(100, { min: 10, max: 60_000 }),
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
});
export type ApiConfig = z.output<typeof ApiEnvSchema>;

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  return loadConfig(ApiEnvSchema, env);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** DOWNLOAD_MODE with `auto` decided. */
export function resolveDownloadMode(
  config: Pick<ApiConfig, 'DOWNLOAD_MODE' | 'S3_PUBLIC_ENDPOINT' | 'S3_ENDPOINT'>,
): 'redirect' | 'proxy' {
  if (config.DOWNLOAD_MODE !== 'auto') return config.DOWNLOAD_MODE;
  const endpoint = config.S3_PUBLIC_ENDPOINT ?? config.S3_ENDPOINT;
  if (!endpoint) return 'redirect';
  return LOOPBACK.has(new URL(endpoint).hostname) ? 'proxy' : 'redirect';
}
