export * from './engine.ts';
export * from './threaded-engine.ts';
export * from './types.ts';
