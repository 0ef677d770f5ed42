// Every external shape as a zod schema (HTTP, SQS message, task record, enhance options) and the one
// error type. Only zod and node built-ins: importing a contract never loads sharp, onnxruntime or the AWS SDK.
// The browser imports the sub-paths in package.json instead (formats, choices, task-states, task-view: no zod
// at run time; the others type-only), so the page's bundle carries no schema library.
export * from './batch.ts';
export * from './callback-url/address-class.ts';
export * from './callback-url/callback-url.ts';
export * from './choices.ts';
export * from './errors/index.ts';
export * from './events.ts';
export * from './formats.ts';
export * from './http.ts';
export * from './ids.ts';
export * from './job.ts';
export * from './memory.ts';
export * from './options.ts';
export * from './s3-event.ts';
export * from './service.ts';
export * from './task.ts';
export * from './task-states.ts';
export * from './task-view.ts';
export * from './upload.ts';
export * from './video.ts';
export * from './worker.ts';
