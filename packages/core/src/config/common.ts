import { z } from 'zod';
import { envBool, envInt, envUrl, LOG_LEVELS } from './env.ts';

/** Port the embedded S3 + SQS backend listens on; the endpoint defaults point at it. */
export const DEFAULT_EMBEDDED_PORT = 4566;
const LOCAL_ENDPOINT = `http://127.0.0.1:${DEFAULT_EMBEDDED_PORT}`;

/**
 * An endpoint URL, or `aws` for the SDK's own endpoint resolution (real AWS). Defaults to the embedded backend.
 */
const endpointVar = z
  .union([z.literal('aws'), envUrl()])
  .default(LOCAL_ENDPOINT)
  .transform((v) => (v === 'aws' ? undefined : v));

/** Variables every process (api, worker, tools) shares: where S3 and SQS are and how the queue behaves. */
export const CommonEnvShape = {
  S3_ENDPOINT: endpointVar,
  /** Endpoint browsers use for presigned URLs (e.g. the host name outside docker); defaults to S3_ENDPOINT. */
  S3_PUBLIC_ENDPOINT: envUrl().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'must be a valid S3 bucket name (3–63 lower-case letters, digits, . -)',
    )
    .default('photoenhance'),
  S3_FORCE_PATH_STYLE: envBool(true),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  SQS_ENDPOINT: endpointVar,
  /** Full queue URL; when absent the queue is looked up (or created) by SQS_QUEUE_NAME. */
  SQS_QUEUE_URL: envUrl().optional(),
  SQS_QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be 1–80 letters, digits, _ or -')
    .default('photoenhance-jobs'),
  SQS_DLQ_URL: envUrl().optional(),
  SQS_DLQ_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be 1–80 letters, digits, _ or -')
    .default('photoenhance-jobs-dlq'),
  /** Deliveries before a job moves to the DLQ. */
  MAX_RECEIVE_COUNT: envInt(3, { min: 1, max: 1000 }),
  /** Seconds a received job stays hidden; workers extend it with heartbeats. */
  VISIBILITY_TIMEOUT: envInt(300, { min: 10, max: 43_200 }),
  /** Create the bucket and queues at start-up when missing (off for managed infrastructure). */
  BOOTSTRAP_RESOURCES: envBool(true),
  MAX_UPLOAD_BYTES: envInt(50 * 1024 * 1024, { min: 1024 }),
  MAX_INPUT_PIXELS: envInt(40_000_000, { min: 1 }),
  /** Output pixel cap (width × height × scale²). */
  MAX_OUTPUT_PIXELS: envInt(268_435_456, { min: 1 }),
  /**
   * Memory one job may use on a worker, in MB, on top of the loaded models (estimateJobMemory). Workers: 0 =
   * the container's limit (or RAM) less what the worker holds when the job starts. The API refuses at
   * submission what exceeds it when it is set (> 0); with 0 only workers decide.
   */
  WORKER_MEMORY_BUDGET_MB: envInt(0, { min: 0 }),
  PRESIGN_EXPIRY_SECONDS: envInt(300, { min: 10, max: 604_800 }),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /**
   * Keys the refs that stand in for task/batch/upload ids in logs (packages/core/src/logging/log-refs.ts). Set the
   * same value on the API and every worker so one task's lines share a ref; unset = plain SHA-256 refs.
   */
  LOG_REF_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Local state (embedded backend, caches). */
  DATA_DIR: z.string().min(1).default('.data'),
} as const;

export const CommonEnvSchema = z.object(CommonEnvShape);
export type CommonConfig = z.output<typeof CommonEnvSchema>;

/** AWS credentials from config; local emulators accept anything, real AWS falls back to the SDK chain. */
export function credentialsFromConfig(
  config: Pick<CommonConfig, 'AWS_ACCESS_KEY_ID' | 'AWS_SECRET_ACCESS_KEY' | 'AWS_SESSION_TOKEN' | 'S3_ENDPOINT'>,
): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  if (config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY) {
    return {
      accessKeyId: config.AWS_ACCESS_KEY_ID,
      secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
      ...(config.AWS_SESSION_TOKEN ? { sessionToken: config.AWS_SESSION_TOKEN } : {}),
    };
  }
  return config.S3_ENDPOINT ? { accessKeyId: 'test', secretAccessKey: 'test' } : undefined;
}
