export * from './queue.ts';
export * from './sqs-client.ts';
