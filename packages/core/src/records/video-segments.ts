import { parseId, type SegmentRecord, SegmentRecordSchema } from '@photoenhance/contracts';
import type { Storage } from '../storage/storage.ts';

/**
 * A video task's working objects (videos/{taskId}/…): one record per segment (written only by the delivery
 * that holds that segment, fenced by its attemptId like a photo task) and the encoded segment itself. The
 * only module that knows their keys; the assemble job removes them all once the result is stored.
 */
export interface SegmentRepository {
  read(taskId: string, index: number): Promise<SegmentRecord | null>;
  write(record: SegmentRecord): Promise<SegmentRecord>;
  /** Every segment record of the task (any order). */
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

export function createSegmentRepository(
  store: Pick<Storage, 'readJson' | 'writeJson' | 'list' | 'deletePrefix'>,
): SegmentRepository {
  const parse = (v: unknown) => SegmentRecordSchema.parse(v);
  const repository: SegmentRepository = {
    read: (taskId, index) => store.readJson(recordKey(taskId, index), parse),
    async write(input) {
      const record = SegmentRecordSchema.parse(input);
      await store.writeJson(recordKey(record.taskId, record.index), record);
      return record;
    },
    async list(taskId) {
      const objects = await store.list(`${prefix(taskId)}segments/`);
      const records = await Promise.all(
        objects.filter((o) => o.key.endsWith('.json')).map((o) => store.readJson(o.key, parse)),
      );
      return records.filter((r): r is SegmentRecord => r !== null);
    },
    segmentKey: (taskId, index) => recordKey(taskId, index).replace(/\.json$/, '.video'),
    deleteAll: (taskId) => store.deletePrefix(prefix(taskId)),
  };
  return repository;
}
