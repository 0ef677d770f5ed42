import { aws_iam as iam, type aws_s3 as s3 } from 'aws-cdk-lib';
import type { JobQueues } from './queues.ts';
import { PREFIXES } from './storage.ts';

type Prefix = (typeof PREFIXES)[keyof typeof PREFIXES];

function objects(bucket: s3.IBucket, prefixes: Prefix[]): string[] {
  return prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`));
}

/**
 * s3:ListBucket on the bucket itself: HeadBucket (readiness) needs it, and without it S3 answers 403
 * instead of 404 for a missing key, which would turn "no cancel marker" or "unknown task" into errors.
 */
function listBucket(bucket: s3.IBucket, prefixes: Prefix[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ListBucket',
    actions: ['s3:ListBucket'],
    resources: [bucket.bucketArn],
    // A listing names a prefix the role works in; requests without one (HeadBucket, S3's own 404-or-403
    // check for a missing key) carry no s3:prefix and stay allowed (IfExists).
    conditions: { StringLikeIfExists: { 's3:prefix': prefixes.map((prefix) => `${prefix}*`) } },
  });
}

/**
 * What the API does (services/api): stores uploads and records, reads everything it serves or presigns,
 * deletes a cancelled task's files, and enqueues jobs. It never receives from the queue.
 */
export function grantApiAccess(grantee: iam.IGrantable, bucket: s3.IBucket, queues: JobQueues): void {
  const { inputs, outputs, tasks, batches, workers, uploads, replays, active } = PREFIXES;
  const statements = [
    listBucket(bucket, [inputs, outputs, tasks, batches, workers, uploads, replays]),
    new iam.PolicyStatement({
      sid: 'WriteUploadsAndRecords',
      actions: ['s3:PutObject'],
      resources: objects(bucket, [inputs, tasks, batches, workers, uploads, replays, active]),
    }),
    new iam.PolicyStatement({
      sid: 'ReadObjects',
      actions: ['s3:GetObject'],
      resources: objects(bucket, [inputs, outputs, tasks, batches, workers, uploads, replays]),
    }),
    new iam.PolicyStatement({
      // Cancelled and deleted tasks, and the retention sweeper (expired tasks, orphan inputs, quota markers).
      sid: 'DeleteCancelledTasks',
      actions: ['s3:DeleteObject'],
      resources: objects(bucket, [inputs, outputs, tasks, batches, workers, uploads, active]),
    }),
    new iam.PolicyStatement({
      sid: 'EnqueueJobs',
      actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      resources: [queues.jobs.queueArn],
    }),
  ];
  for (const statement of statements) grantee.grantPrincipal.addToPrincipalPolicy(statement);
}

/**
 * What a worker does (services/gpu-worker): reads the input and the task record, writes the result and the
 * record, deletes a result it wrote for a task cancelled meanwhile; receives, extends and deletes jobs, and
 * drains the dead-letter queue (marking those tasks EXHAUSTED).
 */
export function grantWorkerAccess(grantee: iam.IGrantable, bucket: s3.IBucket, queues: JobQueues): void {
  const { inputs, outputs, tasks } = PREFIXES;
  const statements = [
    listBucket(bucket, [inputs, outputs, tasks]),
    new iam.PolicyStatement({
      sid: 'ReadInputsAndRecords',
      actions: ['s3:GetObject'],
      resources: objects(bucket, [inputs, tasks]),
    }),
    new iam.PolicyStatement({
      sid: 'WriteResultsAndRecords',
      actions: ['s3:PutObject'],
      // Task records only (tasks/{id}.json): a cancel marker (tasks/{id}.cancel) is the API's alone to write.
      resources: [...objects(bucket, [outputs]), bucket.arnForObjects(`${tasks}*.json`)],
    }),
    new iam.PolicyStatement({
      sid: 'DeleteAbandonedResults',
      actions: ['s3:DeleteObject'],
      resources: objects(bucket, [outputs]),
    }),
    new iam.PolicyStatement({
      sid: 'ConsumeJobs',
      actions: [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
      ],
      resources: [queues.jobs.queueArn],
    }),
    new iam.PolicyStatement({
      sid: 'ReapDeadLetters',
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      resources: [queues.deadLetter.queueArn],
    }),
  ];
  for (const statement of statements) grantee.grantPrincipal.addToPrincipalPolicy(statement);
}
