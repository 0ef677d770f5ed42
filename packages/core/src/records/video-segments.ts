import { parseId, type SegmentRecord, SegmentRecordSchema } from '@photoenhance/contracts';
import type { Storage } from '../storage/storage.ts';

/**
 * A video task's working objects (videos/{taskId}/…): per segment a claim record (status running, written
 * only by the delivery that holds that segment, fenced by its attemptId like a photo task), a done record
 * beside it once its output is stored, and the encoded segment itself. The done record has a key of its own so
 * that which segments are done is one LIST of key names (no read per segment): the segment workers check it
 * after every segment to know whether theirs completed the set. The only module that knows their keys; the
 * assemble job removes them all once the result is stored.
 */
export interface SegmentRepository {
  /** The segment's done record if there is one, else its claim. */
  read(taskId: string, index: number): Promise<SegmentRecord | null>;
  /** The claim (status running) of the delivery holding the segment: the fence a done write is checked against. */
  readClaim(taskId: string, index: number): Promise<SegmentRecord | null>;
  /** A running record goes to the claim key, a done one to the done key. */
  write(record: SegmentRecord): Promise<SegmentRecord>;
  /** Indexes of the done segments: one LIST, no record read. */
  doneIndexes(taskId: string): Promise<Set<number>>;
  /** Every segment's record (the done one where there is one; any order). */
  list(taskId: string): Promise<SegmentRecord[]>;
  /** Where segment `index`'s encoded file goes: deterministic, so a redelivered segment overwrites it harmlessly. */
  segmentKey(taskId: string, index: number): string;
  /** Removes the records and the encoded segments. */
  deleteAll(taskId: string): Promise<number>;
}

const prefix = (taskId: string) => `videos/${parseId(taskId)}/`;
const recordKey = (taskId: string, index: number) => {
  if (!Number.isInteger(index) || index < 0) throw new TypeError('segment index must be a non-negative integer');
  return `${prefix(taskId)}segments/${String(index).padStart(5, '0')}.json`;
};
const doneKey = (taskId: string, index: number) => recordKey(taskId, index).replace(/\.json$/, '.done.json');
const DONE_KEY = /\/(\d{5})\.done\.json$/;
const CLAIM_KEY = /\/(\d{5})\.json$/;

export function createSegmentRepository(
  store: Pick<Storage, 'readJson' | 'writeJson' | 'list' | 'deletePrefix'>,
): SegmentRepository {
  const parse = (v: unknown) => SegmentRecordSchema.parse(v);
  const repository: SegmentRepository = {
    async read(taskId, index) {
      return (await store.readJson(doneKey(taskId, index), parse)) ?? store.readJson(recordKey(taskId, index), parse);
    },
    readClaim: (taskId, index) => store.readJson(recordKey(taskId, index), parse),
    async write(input) {
      const record = SegmentRecordSchema.parse(input);
      const key = record.status === 'done' ? doneKey : recordKey;
      await store.writeJson(key(record.taskId, record.index), record);
      return record;
    },
    async doneIndexes(taskId) {
      const objects = await store.list(`${prefix(taskId)}segments/`);
      return new Set(objects.flatMap((o) => DONE_KEY.exec(o.key)?.[1] ?? []).map(Number));
    },
    async list(taskId) {
      const objects = await store.list(`${prefix(taskId)}segments/`);
      const done = new Set(objects.flatMap((o) => DONE_KEY.exec(o.key)?.[1] ?? []));
      // The done record where there is one, else the claim.
      const wanted = objects.filter((o) => {
        if (DONE_KEY.test(o.key)) return true;
        const claim = CLAIM_KEY.exec(o.key)?.[1];
        return claim !== undefined && !done.has(claim);
      });
      const records = await Promise.all(wanted.map((o) => store.readJson(o.key, parse)));
      return records.filter((r): r is SegmentRecord => r !== null);
    },
    segmentKey: (taskId, index) => recordKey(taskId, index).replace(/\.json$/, '.video'),
    deleteAll: (taskId) => store.deletePrefix(prefix(taskId)),
  };
  return repository;
}
