import { createHash, createHmac } from 'node:crypto';

/**
 * Log references: task, batch, upload and video ids never reach a log line. Each is replaced by a short,
 * stable, non-reversible reference, so an operator can still follow one task across the API and the workers
 * (grep the ref) while a leaked log names no id that would open a task's photo or status.
 *
 * ref = first 12 hex digits of HMAC-SHA256(LOG_REF_SECRET, id), or of SHA-256(id) when no secret is set. Ids are
 * random UUID v4s (122 random bits), so even the plain hash cannot be walked back to an id; the secret adds that
 * nobody without it can check whether an id they hold appears in a log. 12 hex = 48 bits: collisions between
 * the ids alive in one log are negligible.
 */
export const LOG_REF_LENGTH = 12;

/** Any UUID (any version, any case): every id the service makes is one, and so are the ids inside storage keys. */
const UUID_IN_TEXT = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * The file name after an id in a storage key (`outputs/<id>/<name>.png`): a person's name is often in it, so only
 * its extension is kept. Matched after the id became a ref.
 */
const FILE_AFTER_REF = /(ref:[0-9a-f]{12})\/[^"/\\]*?(\.[A-Za-z0-9]{1,8})(?=["\\\s,;)]|$)/g;

/** Presigned-URL query parameters that would let a reader of the log fetch the object. */
const SIGNED_URL_PARAMS = /\b(X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId)=[^&\s"\\]*/gi;

/** The reference of one id (lower-cased first, as ids are stored). */
export function logRef(id: string, secret?: string): string {
  const canonical = id.toLowerCase();
  const digest = secret
    ? createHmac('sha256', secret).update(canonical).digest('hex')
    : createHash('sha256').update(canonical).digest('hex');
  return digest.slice(0, LOG_REF_LENGTH);
}

/** Fields that carry an id, and the name their reference takes in the log line. */
const ID_FIELDS: Readonly<Record<string, string>> = {
  taskId: 'task_ref',
  task_id: 'task_ref',
  batchId: 'batch_ref',
  batch_id: 'batch_ref',
  uploadId: 'upload_ref',
  upload_id: 'upload_ref',
  videoId: 'video_ref',
  video_id: 'video_ref',
};

export interface LogScrubber {
  /** pino `formatters.log`: renames id fields (taskId → task_ref) and puts the ref in place of the id. */
  renameIdFields(object: Record<string, unknown>): Record<string, unknown>;
  /**
   * pino `hooks.streamWrite`: the last step before a line leaves the process. Every UUID left anywhere in the
   * line (messages, bindings, error messages and stacks, storage keys, request paths) becomes `ref:<ref>`, the
   * file name after one in a storage key becomes `*` (extension kept), and presigned-URL signatures are hidden — so a future `logger.info({ something: taskId })` cannot leak one.
   */
  scrubLine(line: string): string;
}

export function createLogScrubber(secret?: string): LogScrubber {
  // Ids repeat across a task's lines; remembering the last few refs saves an HMAC per line.
  const cache = new Map<string, string>();
  const refOf = (id: string): string => {
    const key = id.toLowerCase();
    let ref = cache.get(key);
    if (ref === undefined) {
      ref = logRef(key, secret);
      if (cache.size >= 1024) cache.clear();
      cache.set(key, ref);
    }
    return ref;
  };
  return {
    renameIdFields(object) {
      let out: Record<string, unknown> | undefined;
      for (const [field, refField] of Object.entries(ID_FIELDS)) {
        if (!(field in object)) continue;
        out ??= { ...object };
        const value = out[field];
        delete out[field];
        out[refField] = typeof value === 'string' ? refOf(value) : value;
      }
      return out ?? object;
    },
    scrubLine(line) {
      return line
        .replace(UUID_IN_TEXT, (id) => `ref:${refOf(id)}`)
        .replace(FILE_AFTER_REF, (_match, ref: string, ext: string) => `${ref}/*${ext}`)
        .replace(SIGNED_URL_PARAMS, (_match, name: string) => `${name}=[hidden]`);
    },
  };
}
