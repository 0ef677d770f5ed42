import { extensionFor, OwnerIdSchema, parseId } from '@photoenhance/contracts';

/**
 * Object keys for the one-bucket layout (design.md §3). Every builder validates the id first, so no key is
 * ever made from raw client text; file names go through safeName().
 */

const MAX_NAME_LENGTH = 100;

/**
 * A file name safe for keys, paths and Content-Disposition: the last path segment, ASCII letters, digits,
 * dot, dash and underscore only, no leading dots, at most 100 characters with the extension kept.
 */
export function safeName(raw: string | undefined | null, fallback = 'image'): string {
  const lastSegment = (raw ?? '').split(/[\\/]/).pop() ?? '';
  const ascii = lastSegment
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // drop accents so "é" becomes "e", not "_"
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/_+/g, '_');
  const dot = ascii.lastIndexOf('.');
  const ext =
    dot >= 0
      ? ascii
          .slice(dot + 1)
          .replace(/[^A-Za-z0-9]/g, '')
          .slice(0, 10)
      : '';
  // Clean the stem on its own, so a name of only non-ASCII letters still keeps its extension.
  let stem = (dot >= 0 ? ascii.slice(0, dot) : ascii).replace(/^[._-]+/, '').replace(/[._-]+$/, '');
  if (!stem) stem = fallback;
  const room = MAX_NAME_LENGTH - (ext ? ext.length + 1 : 0);
  return ext ? `${stem.slice(0, room)}.${ext}` : stem.slice(0, room);
}

/** File name without its extension. */
export function fileStem(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** {stem}_enhanced.{ext} for an (already safe or raw) input name. */
export function outputFilename(inputName: string, ext: string): string {
  const cleanExt = ext.replace(/[^a-z0-9]/gi, '').toLowerCase() || 'png';
  return `${fileStem(safeName(inputName))}_enhanced.${extensionFor(cleanExt)}`;
}

export const keys = {
  taskRecord: (taskId: string) => `tasks/${parseId(taskId)}.json`,
  /**
   * Written by a process's start-up probe for conditional writes (one small object, overwritten, never read):
   * under tasks/ because every process may write there and the records' lifecycle rule expires it.
   */
  conditionalWriteProbe: 'tasks/_probe-conditional-writes.json',
  cancelMarker: (taskId: string) => `tasks/${parseId(taskId)}.cancel`,
  inputPrefix: (taskId: string) => `inputs/${parseId(taskId)}/`,
  input: (taskId: string, filename: string) => `inputs/${parseId(taskId)}/${safeName(filename)}`,
  outputPrefix: (taskId: string) => `outputs/${parseId(taskId)}/`,
  /** outputs/{taskId}/{stem}_enhanced.{ext}: deterministic, so a redelivered job overwrites harmlessly. */
  output: (taskId: string, inputName: string, ext: string) =>
    `outputs/${parseId(taskId)}/${outputFilename(inputName, ext)}`,
  /** Index of a caller's tasks: owners/{owner}/{taskId}, an empty object per task (GET /api/v1/tasks). */
  ownerPrefix: (owner: string) => `owners/${OwnerIdSchema.parse(owner)}/`,
  ownerTask: (owner: string, taskId: string) => `owners/${OwnerIdSchema.parse(owner)}/${parseId(taskId)}`,
  batchRecord: (batchId: string) => `batches/${parseId(batchId, 'batch_id')}.json`,
  /** Pending direct upload (URL handed out, task not started yet). */
  uploadRecord: (taskId: string) => `uploads/${parseId(taskId)}.json`,
  /** Claimed by the one start of a direct upload that may send its job (create-only write). */
  uploadStartClaim: (taskId: string) => `uploads/${parseId(taskId)}.start`,
  /** A signature already accepted (replay guard shared by every API instance). */
  replay: (digest: string) => {
    if (!/^[0-9a-f]{16,128}$/.test(digest)) throw new TypeError('replay digest must be lowercase hex');
    return `replays/${digest}`;
  },
  replayPrefix: 'replays/',
  /** active/{owner}/{taskId}: one empty marker per unfinished task of a tenant (MAX_ACTIVE_TASKS_PER_KEY). */
  activeTaskPrefix: (owner: string) => `active/${OwnerIdSchema.parse(owner)}/`,
  activeTask: (owner: string, taskId: string) => `active/${OwnerIdSchema.parse(owner)}/${parseId(taskId)}`,
  activePrefix: 'active/',
  workerPrefix: 'workers/',
  workerRecord: (workerId: string) => {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(workerId)) throw new TypeError('worker id must match [A-Za-z0-9._-]{1,128}');
    return `workers/${workerId}.json`;
  },
} as const;
