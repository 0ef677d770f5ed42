/**
 * One error type for the whole project (like Hono's HTTPException): a stable machine code, an HTTP
 * status the API can answer with, and whether a retry could succeed (queue redelivery decides on it).
 */
export const ERROR_CODES = {
  // bad input: permanent, the client must change something
  INVALID_INPUT: 400,
  INVALID_OPTIONS: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  /** The task's retention time has passed (RETENTION_HOURS): its files and record are gone or about to be. */
  EXPIRED: 410,
  FILE_TOO_LARGE: 413,
  UNSUPPORTED_FORMAT: 415,
  EMPTY_FILE: 422,
  CORRUPT_IMAGE: 422,
  TOO_MANY_PIXELS: 422,
  OUTPUT_TOO_LARGE: 422,
  /** Too many requests from one key (or one address when anonymous) in the rate-limit window. */
  RATE_LIMITED: 429,
  /** A per-key limit (active tasks, open event streams) is reached; `details` names it. */
  QUOTA_EXCEEDED: 429,
  /** The job needs more memory than a worker has for one (memory.ts estimateJobMemory). */
  MEMORY_BUDGET_EXCEEDED: 422,
  CORRUPT_VIDEO: 422,
  VIDEO_TOO_LONG: 422,
  // engine / infrastructure
  MODEL_NOT_READY: 503,
  MODEL_INVALID: 500,
  CANCELLED: 499,
  STORAGE_ERROR: 503,
  QUEUE_ERROR: 503,
  OUT_OF_MEMORY: 503,
  EXHAUSTED: 500,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['STORAGE_ERROR', 'QUEUE_ERROR', 'OUT_OF_MEMORY', 'MODEL_NOT_READY']);

export interface PhotoEnhanceErrorOptions {
  cause?: unknown;
  /** Overrides the default for the code. */
  retryable?: boolean;
  /** Extra machine-readable facts (limit values, field names); safe to show to clients. */
  details?: Record<string, unknown>;
}

export class PhotoEnhanceError extends Error {
  override readonly name = 'PhotoEnhanceError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: PhotoEnhanceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_CODES[code];
    this.retryable = options.retryable ?? RETRYABLE.has(code);
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export function isPhotoEnhanceError(err: unknown): err is PhotoEnhanceError {
  return err instanceof PhotoEnhanceError;
}

/** Throws CANCELLED when the signal has fired; call between units of work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new PhotoEnhanceError('CANCELLED', 'The operation was cancelled', { cause: signal.reason });
}
