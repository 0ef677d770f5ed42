/** What the S3 and SQS clients share: where, who, and how long a call may take before it fails. */
export interface AwsClientOptions {
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

/** The SDK client config for those options (3 attempts unless told otherwise). */
export function awsClientConfig(options: AwsClientOptions) {
  const bounded = options.connectionTimeoutMs || options.idleTimeoutMs;
  return {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    ...(bounded
      ? {
          requestHandler: {
            ...(options.connectionTimeoutMs ? { connectionTimeout: options.connectionTimeoutMs } : {}),
            ...(options.idleTimeoutMs ? { socketTimeout: options.idleTimeoutMs } : {}),
          },
        }
      : {}),
  };
}
