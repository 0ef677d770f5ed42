import { describe, expect, it } from 'vitest';
import { toStorageError } from '../../src/storage/s3-storage.ts';

/** Errors shaped as AWS SDK v3 throws them (name + $metadata.httpStatusCode). */
function sdkError(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

describe('toStorageError', () => {
  it('maps missing objects to NOT_FOUND', () => {
    expect(toStorageError(sdkError('NoSuchKey', 404), 'get', 'tasks/x.json').code).toBe('NOT_FOUND');
  });

  it('names the HTTP status where the SDK could not read an error body (HEAD)', () => {
    const err = toStorageError(sdkError('Unknown', 403), 'headBucket');
    expect(err.code).toBe('STORAGE_ERROR');
    expect(err.message).toMatch(/403: access denied/);
    expect(err.retryable).toBe(false);
  });

  it('treats server errors and throttling as retryable, other client errors as permanent', () => {
    expect(toStorageError(sdkError('InternalError', 500), 'put').retryable).toBe(true);
    expect(toStorageError(sdkError('SlowDown', 429), 'put').retryable).toBe(true);
    expect(toStorageError(sdkError('InvalidRequest', 400), 'put').retryable).toBe(false);
  });
});
