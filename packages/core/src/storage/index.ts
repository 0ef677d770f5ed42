export * from './errors.ts';
export * from './keys.ts';
export * from './s3-client.ts';
export * from './storage.ts';
