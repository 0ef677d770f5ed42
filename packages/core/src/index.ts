export * from './errors/index.ts';
export * from './engine/types.ts';
