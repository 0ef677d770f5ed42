import { Stack, type aws_s3 as s3 } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { JobQueues } from './queues.ts';
import type { DeploymentSettings } from './settings.ts';

/**
 * The variables both services read (packages/core/src/config/common.ts), pointed at the stack's resources.
 * Endpoints are `aws` (the SDK's own resolution) and credentials come from the task role, so no keys appear.
 */
export function commonEnvironment(
  scope: Construct,
  bucket: s3.IBucket,
  queues: JobQueues,
  settings: Pick<DeploymentSettings, 'maxReceiveCount' | 'visibilityTimeoutSeconds'>,
): Record<string, string> {
  return {
    S3_ENDPOINT: 'aws',
    SQS_ENDPOINT: 'aws',
    S3_REGION: Stack.of(scope).region,
    S3_BUCKET: bucket.bucketName,
    // Virtual-hosted addressing: AWS's default; path style is for MinIO and emulators.
    S3_FORCE_PATH_STYLE: 'false',
    SQS_QUEUE_URL: queues.jobs.queueUrl,
    SQS_DLQ_URL: queues.deadLetter.queueUrl,
    MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
    VISIBILITY_TIMEOUT: String(settings.visibilityTimeoutSeconds),
    // The stack owns the bucket and queues; the services must not try to create them.
    BOOTSTRAP_RESOURCES: 'false',
    LOG_LEVEL: 'info',
  };
}
