export * from './bootstrap.ts';
export * from './embedded.ts';
