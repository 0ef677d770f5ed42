export * from './batch.ts';
export * from './events.ts';
export * from './http.ts';
export * from './ids.ts';
export * from './job.ts';
export * from './task.ts';
export * from './upload.ts';
export * from './worker.ts';
