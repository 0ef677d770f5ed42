import { type WorkerRecord, type WorkerRecordInput, WorkerRecordSchema } from '@photoenhance/contracts';
import { keys } from '../storage/keys.ts';
import type { Storage } from '../storage/storage.ts';

/** Registered workers (workers/{workerId}.json). */
export interface WorkerRepository {
  read(workerId: string): Promise<WorkerRecord | null>;
  write(record: WorkerRecordInput): Promise<WorkerRecord>;
  /** Ids of every stored worker record. */
  listIds(): Promise<string[]>;
  delete(workerId: string): Promise<void>;
}

const WORKER_KEY = /^workers\/([A-Za-z0-9._-]{1,128})\.json$/;

export function createWorkerRepository(
  store: Pick<Storage, 'readJson' | 'writeJson' | 'delete' | 'list'>,
): WorkerRepository {
  return {
    read: (workerId) => store.readJson(keys.workerRecord(workerId), (v) => WorkerRecordSchema.parse(v)),
    async write(input) {
      const record = WorkerRecordSchema.parse(input);
      await store.writeJson(keys.workerRecord(record.workerId), record);
      return record;
    },
    async listIds() {
      const objects = await store.list(keys.workerPrefix);
      return objects.map((o) => WORKER_KEY.exec(o.key)?.[1]).filter((id): id is string => Boolean(id));
    },
    delete: (workerId) => store.delete(keys.workerRecord(workerId)),
  };
}
