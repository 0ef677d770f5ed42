export * from './keys.ts';
export * from './s3-client.ts';
export * from './s3-storage.ts';
export * from './storage.ts';
