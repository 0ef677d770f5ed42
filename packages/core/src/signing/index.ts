export * from './hmac.ts';
export * from './replay-guard.ts';
