/**
 * The harness's container backend: MinIO for S3 and LocalStack for SQS, started with testcontainers on random
 * host ports (so parallel test files never collide) and removed by stop() — or by testcontainers' reaper if the
 * process dies first. Image tags are the ones docker-compose.yml pins (a test keeps them equal), so tests run
 * against the same server generations as the deployment.
 *
 * NOT executed on the machine this was written on (no Docker engine there): type-checked only.
 */
import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { StartedTestContainer } from 'testcontainers';

export const MINIO_IMAGE = 'minio/minio:RELEASE.2025-09-07T16-13-09Z';
export const LOCALSTACK_IMAGE = 'localstack/localstack:4.14.0';

/**
 * MinIO root credentials of the throw-away test containers (docker-compose.yml has no default password);
 * LocalStack accepts any, so one pair serves both.
 */
export const CONTAINER_CREDENTIALS = { accessKeyId: 'photoenhance', secretAccessKey: 'photoenhance-secret' } as const;
export const CONTAINER_REGION = 'us-east-1';

/**
 * The variables the stack's config is parsed from — the same names external mode reads from the environment.
 * Bucket and queue names are left to the stack: bootstrapResources creates the bucket, queues and DLQ.
 */
export type ContainerEnv = {
  S3_ENDPOINT: string;
  SQS_ENDPOINT: string;
  S3_REGION: string;
  S3_FORCE_PATH_STYLE: 'true';
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
};

export function containerEnv(endpoints: { s3: string; sqs: string }): ContainerEnv {
  return {
    S3_ENDPOINT: endpoints.s3,
    SQS_ENDPOINT: endpoints.sqs,
    S3_REGION: CONTAINER_REGION,
    // MinIO serves buckets by path; virtual-host names (bucket.localhost) would not resolve.
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: CONTAINER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CONTAINER_CREDENTIALS.secretAccessKey,
  };
}

export interface StackContainers {
  env: ContainerEnv;
  /** Stops and removes both containers (their data goes with them). */
  stop(): Promise<void>;
}

export interface StartContainersOptions {
  minioImage?: string;
  localstackImage?: string;
}

export async function startContainers(options: StartContainersOptions = {}): Promise<StackContainers> {
  const minioImage = options.minioImage ?? MINIO_IMAGE;
  const localstackImage = options.localstackImage ?? LOCALSTACK_IMAGE;
  // Loaded here so the embedded and external modes never pay for testcontainers (dockerode, ssh2…).
  const [{ MinioContainer }, { LocalstackContainer }] = await Promise.all([
    import('@testcontainers/minio'),
    import('@testcontainers/localstack'),
  ]);
  const minio = new MinioContainer(minioImage)
    .withUsername(CONTAINER_CREDENTIALS.accessKeyId)
    .withPassword(CONTAINER_CREDENTIALS.secretAccessKey)
    .start();
  const localstack = new LocalstackContainer(localstackImage)
    .withEnvironment({
      // S3 is MinIO's job; SQS alone starts faster.
      SERVICES: 'sqs',
      AWS_DEFAULT_REGION: CONTAINER_REGION,
      // As in docker-compose.yml. The SDK sends every call to SQS_ENDPOINT (a custom endpoint wins over the
      // queue URL's host), so the container-side port in queue URLs does not matter.
      SQS_ENDPOINT_STRATEGY: 'path',
    })
    .start();

  // Both start in parallel; when one fails, the other is stopped rather than left to the reaper.
  const [s3, sqs] = await Promise.allSettled([minio, localstack]);
  if (s3.status === 'rejected') {
    if (sqs.status === 'fulfilled') await sqs.value.stop().catch(() => undefined);
    throw new PhotoEnhanceError('STORAGE_ERROR', `Could not start the MinIO test container (${minioImage})`, {
      cause: s3.reason,
    });
  }
  if (sqs.status === 'rejected') {
    await s3.value.stop().catch(() => undefined);
    throw new PhotoEnhanceError('QUEUE_ERROR', `Could not start the LocalStack test container (${localstackImage})`, {
      cause: sqs.reason,
    });
  }
  const started: StartedTestContainer[] = [s3.value, sqs.value];
  return {
    env: containerEnv({ s3: s3.value.getConnectionUrl(), sqs: sqs.value.getConnectionUri() }),
    async stop() {
      await Promise.all(started.map((c) => c.stop()));
    },
  };
}
