import type { Storage } from '../storage/storage.ts';
import { type ActiveTaskRepository, createActiveTaskRepository } from './active-tasks.ts';
import { type BatchRepository, createBatchRepository } from './batches.ts';
import { createReplayRepository, type ReplayRepository } from './replays.ts';
import { createTaskRepository, type TaskRepository } from './tasks.ts';
import { createUploadRepository, type UploadRepository } from './uploads.ts';
import { createWorkerRepository, type WorkerRepository } from './workers.ts';

export * from './active-tasks.ts';
export * from './batches.ts';
export * from './replays.ts';
export * from './tasks.ts';
export * from './uploads.ts';
export * from './video-segments.ts';
export * from './workers.ts';

/** One repository per record kind, all over the same object store. */
export interface Records {
  tasks: TaskRepository;
  batches: BatchRepository;
  uploads: UploadRepository;
  workers: WorkerRepository;
  replays: ReplayRepository;
  active: ActiveTaskRepository;
}

export function createRecords(store: Storage): Records {
  return {
    tasks: createTaskRepository(store),
    batches: createBatchRepository(store),
    uploads: createUploadRepository(store),
    workers: createWorkerRepository(store),
    replays: createReplayRepository(store),
    active: createActiveTaskRepository(store),
  };
}
