import {
  ERROR_CODES,
  type ErrorBody,
  type ErrorCode,
  isPhotoEnhanceError,
  PhotoEnhanceError,
  publicErrorMessage,
} from '@photoenhance/contracts';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { ZodError } from 'zod';

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: 'INVALID_INPUT',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'FILE_TOO_LARGE',
  415: 'UNSUPPORTED_FORMAT',
};

/** Turns a zod failure into INVALID_OPTIONS naming the first offending field (and listing all). */
export function fromZodError(err: ZodError, prefix = ''): PhotoEnhanceError {
  const fields = err.issues.map((issue) => `${prefix}${issue.path.join('.')}` || '(body)');
  const first = err.issues[0];
  const firstField = fields[0] ?? '(body)';
  return new PhotoEnhanceError('INVALID_OPTIONS', `${firstField}: ${first?.message ?? 'invalid value'}`, {
    cause: err,
    details: { fields: [...new Set(fields)] },
  });
}

/** Any thrown value → the PhotoEnhanceError the client sees (never a stack trace). */
export function toClientError(err: unknown): PhotoEnhanceError {
  if (isPhotoEnhanceError(err)) return err;
  if (err instanceof ZodError) return fromZodError(err);
  if (err instanceof HTTPException) {
    const code = CODE_FOR_STATUS[err.status] ?? (err.status >= 500 ? 'INTERNAL' : 'INVALID_INPUT');
    const message = err.status === 413 ? 'Request body is larger than the upload limit' : err.message || 'Bad request';
    return new PhotoEnhanceError(code, message, { cause: err });
  }
  return new PhotoEnhanceError('INTERNAL', 'Internal server error', { cause: err });
}

/** An error's JSON body as a client may read it (publicErrorMessage: no storage keys or SDK names). */
export function publicBody(err: PhotoEnhanceError): ReturnType<PhotoEnhanceError['toJSON']> {
  const body = err.toJSON();
  return { ...body, message: publicErrorMessage(err.code, body.message) };
}

/**
 * The one error handler: {error: {code, message, details?}, detail} with the code's status. `detail` is
 * FastAPI's error field (the same message as text): PhotoEnhanceAI's clients print it.
 */
export function errorResponse(c: Context, err: unknown, logger: Logger): Response {
  const clientError = toClientError(err);
  // The code decides the status (ERROR_CODES), except where an HTTPException carried a more exact one.
  const status = (
    err instanceof HTTPException && !CODE_FOR_STATUS[err.status] ? err.status : ERROR_CODES[clientError.code]
  ) as ContentfulStatusCode;
  const log = (c.get('logger') as Logger | undefined) ?? logger;
  if (status >= 500) log.error({ err, code: clientError.code }, 'request failed');
  else log.info({ code: clientError.code, msg: clientError.message }, 'request refused');
  if (clientError.retryable && status >= 500) c.header('Retry-After', '5');
  // A per-instance cap (event streams, verifications) frees up within seconds; the rate limiter sets its own.
  if (clientError.code === 'QUOTA_EXCEEDED' && clientError.retryable) c.header('Retry-After', '5');
  const error = publicBody(clientError);
  const body: ErrorBody = { error, detail: error.message };
  return c.json(body, status);
}
