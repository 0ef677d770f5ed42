/**
 * Failures of the model layer. Kept local (models must not depend on core); the engine maps the codes
 * onto PhotoEnhanceError (MODEL_NOT_READY → 503 retryable, MODEL_INVALID → 500, MODEL_UNKNOWN → bad option).
 */
export type ModelErrorCode = 'MODEL_NOT_READY' | 'MODEL_INVALID' | 'MODEL_UNKNOWN';

export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly code: ModelErrorCode;
  readonly modelId: string | undefined;

  constructor(code: ModelErrorCode, message: string, options: { cause?: unknown; modelId?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.modelId = options.modelId;
  }
}

export function isModelError(err: unknown): err is ModelError {
  return err instanceof ModelError;
}
