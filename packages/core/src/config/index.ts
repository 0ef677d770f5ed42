export * from './common.ts';
export * from './env.ts';
export * from './secure-defaults.ts';
export * from './task-changes.ts';
