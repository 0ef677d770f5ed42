export * from './bootstrap.ts';
export * from './credentials.ts';
export * from './embedded.ts';
export * from './upload-sweeper.ts';
