import type { SQSClient } from '@aws-sdk/client-sqs';
import { type CommonConfig, credentialsFromConfig } from '../config/common.ts';
import { bootstrapResources, resolveQueueUrl } from '../embedded/bootstrap.ts';
import { createQueue, type JobQueue } from '../queue/queue.ts';
import { createSqsClient } from '../queue/sqs-client.ts';
import { createS3Client } from '../storage/s3-client.ts';
import { createS3Storage } from '../storage/s3-storage.ts';
import type { Storage } from '../storage/storage.ts';

/** What a process gets: storage through the Storage interface only (no raw S3 client), and the queue. */
export interface Backend {
  sqs: SQSClient;
  storage: Storage;
  queue: JobQueue;
  close(): void;
}

/**
 * S3 + SQS clients, storage and queue repositories from a process config. With BOOTSTRAP_RESOURCES the bucket
 * and queues are created when missing; otherwise queue URLs come from SQS_QUEUE_URL / SQS_DLQ_URL or by name.
 */
export interface ConnectOptions {
  /**
   * Bounds on every S3/SQS call. The API sets short ones so a stalled server becomes a prompt 503 rather than a
   * hung request; a worker's long polls need a request bound above WORKER_WAIT_TIME_SECONDS.
   */
  s3?: { connectionTimeoutMs?: number; idleTimeoutMs?: number; maxAttempts?: number };
  sqs?: { connectionTimeoutMs?: number; idleTimeoutMs?: number; maxAttempts?: number };
}

export async function connectBackend(config: CommonConfig, options: ConnectOptions = {}): Promise<Backend> {
  const credentials = credentialsFromConfig(config);
  const s3 = createS3Client({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    credentials,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    ...options.s3,
  });
  const publicEndpoint = config.S3_PUBLIC_ENDPOINT;
  const presignClient =
    publicEndpoint && publicEndpoint !== config.S3_ENDPOINT
      ? createS3Client({
          endpoint: publicEndpoint,
          region: config.S3_REGION,
          credentials,
          forcePathStyle: config.S3_FORCE_PATH_STYLE,
        })
      : undefined;
  const sqs = createSqsClient({ endpoint: config.SQS_ENDPOINT, region: config.S3_REGION, credentials, ...options.sqs });

  let queueUrl = config.SQS_QUEUE_URL;
  let dlqUrl = config.SQS_DLQ_URL;
  if (config.BOOTSTRAP_RESOURCES) {
    const created = await bootstrapResources({
      s3,
      sqs,
      bucket: config.S3_BUCKET,
      queueName: config.SQS_QUEUE_NAME,
      dlqName: config.SQS_DLQ_NAME,
      maxReceiveCount: config.MAX_RECEIVE_COUNT,
      visibilityTimeout: config.VISIBILITY_TIMEOUT,
    });
    queueUrl ??= created.queueUrl;
    dlqUrl ??= created.dlqUrl;
  } else {
    queueUrl ??= await resolveQueueUrl(sqs, config.SQS_QUEUE_NAME);
    dlqUrl ??= await resolveQueueUrl(sqs, config.SQS_DLQ_NAME).catch(() => undefined);
  }

  const storage = createS3Storage({
    client: s3,
    bucket: config.S3_BUCKET,
    presignExpirySeconds: config.PRESIGN_EXPIRY_SECONDS,
    ...(presignClient ? { presignClient } : {}),
  });
  const queue = createQueue({ client: sqs, queueUrl, ...(dlqUrl ? { dlqUrl } : {}) });
  return {
    sqs,
    storage,
    queue,
    close() {
      s3.destroy();
      sqs.destroy();
      presignClient?.destroy();
    },
  };
}
