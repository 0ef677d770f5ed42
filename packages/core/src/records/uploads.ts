import { type UploadRecord, type UploadRecordInput, UploadRecordSchema } from '@photoenhance/contracts';
import { keys } from '../storage/keys.ts';
import type { Storage } from '../storage/storage.ts';

/** Pending direct uploads (uploads/{taskId}.json): a presigned PUT handed out, the task not started yet. */
export interface UploadRepository {
  read(taskId: string): Promise<UploadRecord | null>;
  write(record: UploadRecordInput): Promise<UploadRecord>;
  delete(taskId: string): Promise<void>;
}

export function createUploadRepository(store: Pick<Storage, 'readJson' | 'writeJson' | 'delete'>): UploadRepository {
  return {
    read: (taskId) => store.readJson(keys.uploadRecord(taskId), (v) => UploadRecordSchema.parse(v)),
    async write(input) {
      const record = UploadRecordSchema.parse(input);
      await store.writeJson(keys.uploadRecord(record.taskId), record);
      return record;
    },
    delete: (taskId) => store.delete(keys.uploadRecord(taskId)),
  };
}
