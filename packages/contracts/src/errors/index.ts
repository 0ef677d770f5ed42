export * from './errors.ts';
export * from './public-message.ts';
