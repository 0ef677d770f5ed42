import { S3Client } from '@aws-sdk/client-s3';

export interface S3ClientOptions {
  /** Omit for AWS itself. */
  endpoint?: string | undefined;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined } | undefined;
  /** Path-style URLs (http://host/bucket/key): needed for MinIO, LocalStack and fauxqs without wildcard DNS. */
  forcePathStyle?: boolean;
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

export function createS3Client(options: S3ClientOptions): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    forcePathStyle: options.forcePathStyle ?? true,
    maxAttempts: options.maxAttempts ?? 3,
    ...requestHandler(options),
    // Since SDK 3.729 checksums are added by default; a presigned PUT would then carry the checksum of an
    // empty body, which real S3 and MinIO reject. Only send them where the API requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
