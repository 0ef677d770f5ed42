/**
 * test/real runs only against real servers (MinIO + ElasticMQ from scripts/real-servers, or any S3/SQS the
 * environment names): it checks what the embedded emulator does not model. Started without them, it fails at
 * once with the command to run instead of passing vacuously.
 */
import { type Stack, type StackOptions, startStack } from '../harness/stack.ts';

export async function startRealStack(options: StackOptions = {}): Promise<Stack> {
  const stack = await startStack(options);
  if (stack.mode !== 'external') {
    await stack.stop();
    throw new Error('test/real needs real S3 + SQS servers: run `npm run test:real` (see scripts/real-servers)');
  }
  return stack;
}

/** The S3 error code from an XML error body (`<Code>AccessDenied</Code>`), or '' when there is none. */
export function s3ErrorCode(xml: string): string {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1] ?? '';
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
