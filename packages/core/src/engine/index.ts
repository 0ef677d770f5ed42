export * from './engine.ts';
export * from './types.ts';
export * from './threaded-engine.ts';
