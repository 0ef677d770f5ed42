export * from './address-class.ts';
export * from './callback-url.ts';
export * from './payload.ts';
export * from './sender.ts';
