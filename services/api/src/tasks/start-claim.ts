import { isPhotoEnhanceError, PhotoEnhanceError } from '@photoenhance/contracts';
import { keys, type Records, type Storage } from '@photoenhance/core';

/** A start claim older than this with no task record is a start whose API died mid-way. */
const START_CLAIM_STALE_MS = 2 * 60 * 1000;

/**
 * The create-only claim (uploads/{id}.start) of the one direct-upload start that sends the jobs, across API
 * instances: of two starts racing on different instances one gets it, the other a 409 (stores without
 * conditional writes ignore ifNoneMatch; each instance's own queue of starts still holds there). A stale
 * claim with no task record is taken over. Returns the claim key, which the caller deletes once the task
 * record exists (or the start failed).
 */
export async function claimUploadStart(
  storage: Pick<Storage, 'put' | 'head' | 'delete'>,
  records: Pick<Records, 'tasks'>,
  taskId: string,
): Promise<string> {
  const claim = keys.uploadStartClaim(taskId);
  const take = () => storage.put(claim, '', { contentType: 'text/plain', ifNoneMatch: '*' });
  try {
    await take();
  } catch (err) {
    if (!isPhotoEnhanceError(err) || err.code !== 'CONFLICT') throw err;
    const held = await storage.head(claim);
    const stale = held?.lastModified && Date.now() - held.lastModified.getTime() > START_CLAIM_STALE_MS;
    if (!stale || (await records.tasks.read(taskId))) {
      throw new PhotoEnhanceError('CONFLICT', `Task ${taskId} has already been started`, { cause: err });
    }
    await storage.delete(claim);
    await take();
  }
  return claim;
}
