import { type BatchRecord, type BatchRecordInput, BatchRecordSchema } from '@photoenhance/contracts';
import { keys } from '../storage/keys.ts';
import type { Storage } from '../storage/storage.ts';

/** Batch records (batches/{batchId}.json). */
export interface BatchRepository {
  read(batchId: string): Promise<BatchRecord | null>;
  write(record: BatchRecordInput): Promise<BatchRecord>;
  delete(batchId: string): Promise<void>;
}

export function createBatchRepository(store: Pick<Storage, 'readJson' | 'writeJson' | 'delete'>): BatchRepository {
  return {
    read: (batchId) => store.readJson(keys.batchRecord(batchId), (v) => BatchRecordSchema.parse(v)),
    async write(input) {
      const record = BatchRecordSchema.parse(input);
      await store.writeJson(keys.batchRecord(record.batchId), record);
      return record;
    },
    delete: (batchId) => store.delete(keys.batchRecord(batchId)),
  };
}
