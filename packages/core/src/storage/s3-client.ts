import { S3Client } from '@aws-sdk/client-s3';
import { type AwsClientOptions, awsClientConfig } from '../aws/client-options.ts';

export interface S3ClientOptions extends AwsClientOptions {
  /** Path-style URLs (http://host/bucket/key): needed for MinIO, LocalStack and fauxqs without wildcard DNS. */
  forcePathStyle?: boolean;
}

export function createS3Client(options: S3ClientOptions): S3Client {
  return new S3Client({
    ...awsClientConfig(options),
    forcePathStyle: options.forcePathStyle ?? true,
    // Since SDK 3.729 checksums are added by default; a presigned PUT would then carry the checksum of an
    // empty body, which real S3 and MinIO reject. Only send them where the API requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
