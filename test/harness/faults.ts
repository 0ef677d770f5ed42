import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { Storage } from '@photoenhance/core';

/**
 * The real storage with its downloads failing the way an unreachable S3 does (retryable STORAGE_ERROR);
 * everything else passes through. `failures` counts down; Infinity fails forever.
 */
export function storageWithFailingDownloads(storage: Storage, failures = Number.POSITIVE_INFINITY) {
  let remaining = failures;
  let attempts = 0;
  const wrapped: Storage = Object.create(storage) as Storage;
  wrapped.getBuffer = async (key: string) => {
    attempts++;
    if (remaining > 0) {
      remaining--;
      throw new PhotoEnhanceError('STORAGE_ERROR', `Storage get failed ${key}: TimeoutError (injected)`);
    }
    return storage.getBuffer(key);
  };
  return { storage: wrapped, attempts: () => attempts };
}
