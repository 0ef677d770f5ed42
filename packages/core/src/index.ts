// Service plumbing shared by the API and the workers: S3 storage, SQS queue, callbacks, signing, config,
// the backend connection and the embedded S3 + SQS. No ML runtime and no image decoding here.
export * from './backend/index.ts';
export * from './callbacks/index.ts';
export * from './config/index.ts';
export * from './embedded/index.ts';
export * from './logging/log-refs.ts';
export * from './logging/logger.ts';
export * from './progress/index.ts';
export * from './queue/index.ts';
export * from './records/index.ts';
export * from './retention/retention-sweeper.ts';
export * from './signing/index.ts';
export * from './storage/index.ts';
