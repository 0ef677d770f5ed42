import type { Logger } from 'pino';
import { createRecords } from '../records/index.ts';
import { keys } from '../storage/keys.ts';
import type { Storage } from '../storage/storage.ts';

/**
 * The embedded stack's stand-in for the bucket lifecycle rules CDK and compose set on uploads/: pending direct
 * uploads (uploads/{taskId}.json, see routes/uploads) that can never start are removed with their input, and so
 * are inputs a crashed request left without a record. fauxqs has no lifecycle rules, so without this every
 * abandoned upload would stay on disk forever.
 */

/** Like the lifecycle rule on uploads/: a pending upload is kept at most a day. */
export const UPLOAD_MAX_AGE_MS = 24 * 3600 * 1000;
export const UPLOAD_SWEEP_INTERVAL_MS = 10 * 60 * 1000;

export interface UploadSweepResult {
  /** uploads/ records removed. */
  records: number;
  /** Input objects removed with them (uploaded, never started). */
  inputs: number;
}

/**
 * One pass. A pending upload goes when its URL has expired with nothing uploaded (it can never start), or when it
 * is older than `maxAgeMs` (the lifecycle rule's age). Its input goes too unless a task record says the task started.
 */
export async function sweepExpiredUploads(
  storage: Storage,
  options: { maxAgeMs?: number; now?: Date } = {},
): Promise<UploadSweepResult> {
  const now = (options.now ?? new Date()).getTime();
  const maxAgeMs = options.maxAgeMs ?? UPLOAD_MAX_AGE_MS;
  const records = createRecords(storage);
  const result: UploadSweepResult = { records: 0, inputs: 0 };
  for (const object of await storage.list('uploads/')) {
    const taskId = /^uploads\/([^/]+)\.json$/.exec(object.key)?.[1];
    if (!taskId) continue;
    let upload: Awaited<ReturnType<typeof records.uploads.read>>;
    try {
      upload = await records.uploads.read(taskId);
    } catch {
      continue; // not a record of ours (bad id or shape): leave it to an operator
    }
    if (!upload) continue;
    const tooOld = now - Date.parse(upload.createdAt) > maxAgeMs;
    const urlExpired = now > Date.parse(upload.expiresAt);
    if (!tooOld && !(urlExpired && !(await storage.head(upload.key)))) continue;
    if (!(await records.tasks.read(taskId))) result.inputs += await storage.deletePrefix(keys.inputPrefix(taskId));
    await records.uploads.delete(taskId);
    result.records++;
  }
  return result;
}

/**
 * An input is written seconds before its task record (input → job → record): one still without a record, or a
 * pending direct upload, after this long belongs to a request that died in between.
 */
export const ORPHAN_INPUT_AGE_MS = 3600 * 1000;

/**
 * Removes inputs/{taskId}/ objects older than `minAgeMs` that have neither a task record nor a pending upload
 * record: what an API killed between storing an upload and writing its record leaves behind (the `inputs/`
 * lifecycle rule's job elsewhere). Returns how many objects went.
 */
export async function sweepOrphanInputs(
  storage: Storage,
  options: { minAgeMs?: number; now?: Date } = {},
): Promise<number> {
  const now = (options.now ?? new Date()).getTime();
  const minAgeMs = options.minAgeMs ?? ORPHAN_INPUT_AGE_MS;
  const records = createRecords(storage);
  const oldest = new Map<string, number>();
  for (const object of await storage.list('inputs/')) {
    const taskId = object.key.split('/')[1];
    if (!taskId || !object.lastModified) continue;
    const at = object.lastModified.getTime();
    oldest.set(taskId, Math.max(oldest.get(taskId) ?? 0, at));
  }
  let removed = 0;
  for (const [taskId, newest] of oldest) {
    if (now - newest < minAgeMs) continue;
    try {
      if ((await records.tasks.read(taskId)) || (await records.uploads.read(taskId))) continue;
    } catch {
      continue; // not an id of ours, or a record that does not parse: leave it to an operator
    }
    removed += await storage.deletePrefix(keys.inputPrefix(taskId));
  }
  return removed;
}

export interface UploadSweeper {
  stop(): void;
}

/** Runs sweepExpiredUploads and sweepOrphanInputs every `intervalMs`; failures are logged and retried next time. */
export function startUploadSweeper(
  storage: Storage,
  options: { intervalMs?: number; maxAgeMs?: number; logger?: Logger } = {},
): UploadSweeper {
  let running = false;
  const pass = async () => {
    if (running) return;
    running = true;
    try {
      const swept = await sweepExpiredUploads(storage, options.maxAgeMs ? { maxAgeMs: options.maxAgeMs } : {});
      if (swept.records > 0) options.logger?.info(swept, 'expired direct uploads removed');
      const orphans = await sweepOrphanInputs(storage);
      if (orphans > 0) options.logger?.info({ objects: orphans }, 'orphan inputs removed (no task record)');
    } catch (err) {
      options.logger?.warn({ err }, 'direct upload sweep failed; retrying at the next interval');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void pass(), options.intervalMs ?? UPLOAD_SWEEP_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
