export * from './payload.ts';
export * from './sender.ts';
