export * from './s3-task-notices.ts';
export * from './sns-sqs-task-changes.ts';
export * from './task-changes.ts';
