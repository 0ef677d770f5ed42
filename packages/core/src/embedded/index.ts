export * from './bootstrap.ts';
export * from './embedded.ts';
export * from './upload-sweeper.ts';
