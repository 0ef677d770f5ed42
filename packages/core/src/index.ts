export * from './errors/index.ts';
export * from './engine/types.ts';
export * from './contracts/index.ts';
export * from './storage/index.ts';
export * from './queue/index.ts';
export * from './config/index.ts';
export * from './embedded/index.ts';
export * from './backend/index.ts';
