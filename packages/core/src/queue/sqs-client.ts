import { SQSClient } from '@aws-sdk/client-sqs';

export interface SqsClientOptions {
  /** Omit for AWS itself. */
  endpoint?: string | undefined;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined } | undefined;
  maxAttempts?: number;
  /** Socket connect bound (ms); the SDK default waits for the OS. */
  connectionTimeoutMs?: number | undefined;
  /** Socket idle bound (ms): a stalled server fails the call instead of hanging it (0/absent = none). */
  idleTimeoutMs?: number | undefined;
}

function requestHandler(options: { connectionTimeoutMs?: number | undefined; idleTimeoutMs?: number | undefined }) {
  if (!options.connectionTimeoutMs && !options.idleTimeoutMs) return {};
  return {
    requestHandler: {
      ...(options.connectionTimeoutMs ? { connectionTimeout: options.connectionTimeoutMs } : {}),
      ...(options.idleTimeoutMs ? { socketTimeout: options.idleTimeoutMs } : {}),
    },
  };
}

export function createSqsClient(options: SqsClientOptions): SQSClient {
  return new SQSClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    ...requestHandler(options),
  });
}
