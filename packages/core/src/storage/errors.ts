import { PhotoEnhanceError } from '@photoenhance/contracts';

interface SdkErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function sdkStatus(err: unknown): number | undefined {
  return (err as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

export function isNotFoundError(err: unknown): boolean {
  const e = err as SdkErrorShape | undefined;
  const name = e?.name ?? e?.Code;
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || sdkStatus(err) === 404;
}

/**
 * SDK failure → PhotoEnhanceError: a missing object is NOT_FOUND (permanent); anything else is STORAGE_ERROR,
 * retryable unless S3 said the request itself was wrong (4xx other than throttling/timeouts).
 */
export function toStorageError(err: unknown, action: string, key?: string): PhotoEnhanceError {
  if (err instanceof PhotoEnhanceError) return err;
  const where = key ? ` ${key}` : '';
  if (isNotFoundError(err)) {
    return new PhotoEnhanceError('NOT_FOUND', `Object not found:${where || ' (bucket)'}`, { cause: err });
  }
  const status = sdkStatus(err);
  if (status === 412 || (err as SdkErrorShape | undefined)?.name === 'PreconditionFailed') {
    return new PhotoEnhanceError('CONFLICT', `Storage ${action} refused:${where} already exists`, { cause: err });
  }
  const clientFault = status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
  const name = (err as SdkErrorShape | undefined)?.name ?? 'Error';
  // HEAD answers have no body, so the SDK can only say "Unknown": the status code is the useful part.
  const hint =
    status === 403
      ? ' (HTTP 403: access denied — check the credentials and the bucket policy)'
      : status === 401
        ? ' (HTTP 401: check the credentials)'
        : status !== undefined && name.startsWith('Unknown')
          ? ` (HTTP ${status})`
          : '';
  return new PhotoEnhanceError('STORAGE_ERROR', `Storage ${action} failed${where}: ${name}${hint}`, {
    cause: err,
    retryable: !clientFault,
  });
}
