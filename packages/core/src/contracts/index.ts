export * from './http.ts';
export * from './ids.ts';
export * from './job.ts';
export * from './task.ts';
export * from './worker.ts';
