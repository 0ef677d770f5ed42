import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { isNotFoundError, toStorageError } from '../storage/s3-storage.ts';

export interface BootstrapOptions {
  s3: S3Client;
  sqs: SQSClient;
  bucket: string;
  queueName: string;
  dlqName: string;
  /** Deliveries before a job is dead-lettered. */
  maxReceiveCount: number;
  /** Seconds. */
  visibilityTimeout: number;
}

export interface BootstrapResult {
  bucket: string;
  queueUrl: string;
  dlqUrl: string;
  dlqArn: string;
}

const FOURTEEN_DAYS = String(14 * 24 * 3600);

function queueError(action: string, err: unknown): PhotoEnhanceError {
  if (err instanceof PhotoEnhanceError) return err;
  return new PhotoEnhanceError('QUEUE_ERROR', `Queue ${action} failed: ${(err as Error)?.name ?? 'Error'}`, {
    cause: err,
  });
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (!isNotFoundError(err)) throw toStorageError(err, 'headBucket');
  }
  const region = await s3.config.region();
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        // us-east-1 is the one region that refuses an explicit location constraint.
        ...(region && region !== 'us-east-1'
          ? { CreateBucketConfiguration: { LocationConstraint: region as never } }
          : {}),
      }),
    );
  } catch (err) {
    const name = (err as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw toStorageError(err, 'createBucket');
  }
}

/** Queue URL by name, creating the queue when missing; attributes are then set separately (idempotent). */
async function ensureQueue(sqs: SQSClient, name: string): Promise<string> {
  try {
    const out = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (out.QueueUrl) return out.QueueUrl;
  } catch (err) {
    const errName = (err as Error).name;
    if (errName !== 'QueueDoesNotExist' && errName !== 'AWS.SimpleQueueService.NonExistentQueue')
      throw queueError('getQueueUrl', err);
  }
  try {
    const out = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    if (!out.QueueUrl) throw new PhotoEnhanceError('QUEUE_ERROR', `CreateQueue returned no URL for ${name}`);
    return out.QueueUrl;
  } catch (err) {
    throw queueError('createQueue', err);
  }
}

/**
 * Creates the bucket, the dead-letter queue and the jobs queue (with its RedrivePolicy) when missing and
 * (re)applies the queue attributes. Idempotent, and only uses plain S3/SQS calls, so the same function
 * prepares fauxqs, MinIO + ElasticMQ, LocalStack or a real AWS account.
 */
export async function bootstrapResources(options: BootstrapOptions): Promise<BootstrapResult> {
  const { s3, sqs, bucket } = options;
  await ensureBucket(s3, bucket);

  const dlqUrl = await ensureQueue(sqs, options.dlqName);
  let dlqArn: string | undefined;
  try {
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: dlqUrl, Attributes: { MessageRetentionPeriod: FOURTEEN_DAYS } }),
    );
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
    dlqArn = attrs.Attributes?.QueueArn;
  } catch (err) {
    throw queueError('configure DLQ', err);
  }
  if (!dlqArn) throw new PhotoEnhanceError('QUEUE_ERROR', `No ARN for dead-letter queue ${options.dlqName}`);

  const queueUrl = await ensureQueue(sqs, options.queueName);
  try {
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: {
          VisibilityTimeout: String(options.visibilityTimeout),
          ReceiveMessageWaitTimeSeconds: '20',
          MessageRetentionPeriod: FOURTEEN_DAYS,
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount }),
        },
      }),
    );
  } catch (err) {
    throw queueError('configure queue', err);
  }
  return { bucket, queueUrl, dlqUrl, dlqArn };
}

/** Looks a queue URL up by name (for deployments where bootstrapping is off). */
export async function resolveQueueUrl(sqs: SQSClient, name: string): Promise<string> {
  try {
    const out = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (!out.QueueUrl) throw new PhotoEnhanceError('QUEUE_ERROR', `No URL for queue ${name}`);
    return out.QueueUrl;
  } catch (err) {
    throw queueError(`getQueueUrl ${name}`, err);
  }
}
