import { Duration, aws_s3 as s3 } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type DeploymentSettings, lifecycleDays } from './settings.ts';

/** Key prefixes of the one-bucket layout (design.md §3). */
export const PREFIXES = {
  inputs: 'inputs/',
  outputs: 'outputs/',
  tasks: 'tasks/',
  batches: 'batches/',
  workers: 'workers/',
  /** Pending direct uploads (upload records): a presigned PUT lives at most an hour. */
  uploads: 'uploads/',
  /** Worker-registration signatures already accepted (the replay guard every API instance shares). */
  replays: 'replays/',
  /** One marker per unfinished task of a tenant (MAX_ACTIVE_TASKS_PER_KEY). */
  active: 'active/',
} as const;

/**
 * The bucket holding uploads, results and task records: private, encrypted, TLS only, with CORS for the
 * browser's presigned PUT/GET and lifecycle rules so uploads and results do not accumulate.
 */
export function createJobBucket(
  scope: Construct,
  settings: Pick<DeploymentSettings, 'retentionHours' | 'corsOrigins'>,
  accessLogs?: s3.IBucket,
): s3.Bucket {
  const days = Duration.days(lifecycleDays(settings.retentionHours));
  return new s3.Bucket(scope, 'Bucket', {
    // Who read or wrote which photo (issue 17): S3 server access logs into a bucket of their own.
    ...(accessLogs ? { serverAccessLogsBucket: accessLogs, serverAccessLogsPrefix: 'job-bucket/' } : {}),
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    cors: [
      {
        allowedOrigins: settings.corsOrigins,
        allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.PUT, s3.HttpMethods.HEAD],
        allowedHeaders: ['*'],
        exposedHeaders: ['ETag', 'Content-Length', 'Content-Disposition'],
        maxAge: 3600,
      },
    ],
    lifecycleRules: [
      // Backing up the API's own retention sweep (exact, RETENTION_HOURS): whole days, see lifecycleDays.
      { id: 'expire-inputs', prefix: PREFIXES.inputs, expiration: days },
      { id: 'expire-outputs', prefix: PREFIXES.outputs, expiration: days },
      { id: 'expire-task-records', prefix: PREFIXES.tasks, expiration: days },
      { id: 'expire-batch-records', prefix: PREFIXES.batches, expiration: days },
      { id: 'expire-active-markers', prefix: PREFIXES.active, expiration: days },
      // Short-lived by nature: a never-started direct upload (its object is under inputs/) and replay marks.
      { id: 'expire-upload-records', prefix: PREFIXES.uploads, expiration: Duration.days(1) },
      { id: 'expire-replay-marks', prefix: PREFIXES.replays, expiration: Duration.days(1) },
      // Large uploads go up in parts; an interrupted one would otherwise be billed forever.
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ],
  });
}
