import { isPhotoEnhanceError } from '@photoenhance/contracts';
import { keys } from '../storage/keys.ts';
import type { Storage } from '../storage/storage.ts';

/**
 * Signatures already accepted (replays/{digest}), shared by every API instance behind a load balancer: a
 * captured worker registration replayed against another instance is refused too. The object is created with
 * a conditional write (If-None-Match: *), so of two instances racing one digest only one wins on S3 and MinIO;
 * on a store without conditional writes the head() check still refuses every replay that comes after.
 * Entries are never read back for their content; the bucket's lifecycle rule removes them after a day (a
 * signature is only valid ±5 minutes anyway).
 */
export interface ReplayRepository {
  /** true the first time `digest` is claimed anywhere, false for a replay. */
  claim(digest: string): Promise<boolean>;
}

export function createReplayRepository(store: Pick<Storage, 'head' | 'put'>): ReplayRepository {
  return {
    async claim(digest) {
      const key = keys.replay(digest);
      if (await store.head(key)) return false;
      try {
        // The marker is empty, and the SDK sets Content-Length only for a non-empty body: without the explicit 0
        // every worker registration printed "Are you using a Stream of unknown length as the Body…?".
        await store.put(key, '', { contentType: 'application/octet-stream', contentLength: 0, ifNoneMatch: '*' });
        return true;
      } catch (err) {
        if (isPhotoEnhanceError(err) && err.code === 'CONFLICT') return false;
        throw err;
      }
    },
  };
}
