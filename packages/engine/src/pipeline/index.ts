export * from './engine.ts';
export * from './memory-admission.ts';
export * from './model-catalog.ts';
export * from './threaded-engine.ts';
export * from './types.ts';
