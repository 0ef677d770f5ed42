/**
 * The container backend's contract. The live test needs a Docker engine and reports itself skipped without one
 * (it has never run on the machine this was written on: no engine there).
 */
import { readFile } from 'node:fs/promises';
import { newId } from '@photoenhance/contracts';
import { CommonEnvSchema, connectBackend, credentialsFromConfig, loadConfig } from '@photoenhance/core';
import { describe, expect, it } from 'vitest';
import { CONTAINER_CREDENTIALS, containerEnv, LOCALSTACK_IMAGE, MINIO_IMAGE, startContainers } from './containers.ts';
import { dockerAvailable } from './docker.ts';

const COMPOSE = new URL('../../docker-compose.yml', import.meta.url);

describe('container backend', () => {
  it('pins the same MinIO and LocalStack images as docker-compose.yml', async () => {
    const compose = await readFile(COMPOSE, 'utf8');
    const images = [...compose.matchAll(/^\s*image:\s*(\S+)\s*$/gm)].map((m) => m[1]);
    expect(images).toContain(MINIO_IMAGE);
    expect(images).toContain(LOCALSTACK_IMAGE);
  });

  it('gives the variables the stack config is parsed from: endpoints, path-style S3, MinIO credentials', () => {
    const config = loadConfig(
      CommonEnvSchema,
      containerEnv({ s3: 'http://localhost:32768', sqs: 'http://localhost:32769' }),
    );
    expect(config.S3_ENDPOINT).toBe('http://localhost:32768');
    expect(config.SQS_ENDPOINT).toBe('http://localhost:32769');
    expect(config.S3_FORCE_PATH_STYLE).toBe(true);
    expect(credentialsFromConfig(config)).toEqual(CONTAINER_CREDENTIALS);
  });

  it('starts MinIO + LocalStack that the app can bootstrap and use, and removes them', async (ctx) => {
    ctx.skip(!(await dockerAvailable()), 'no Docker engine answers here');
    const containers = await startContainers();
    try {
      const suffix = newId().slice(0, 8);
      const config = loadConfig(CommonEnvSchema, {
        ...containers.env,
        SQS_QUEUE_NAME: `tc-jobs-${suffix}`,
        SQS_DLQ_NAME: `tc-dlq-${suffix}`,
        BOOTSTRAP_RESOURCES: 'true',
      });
      const backend = await connectBackend(config);
      try {
        await backend.storage.ping();
        await backend.queue.ping();
        expect(backend.queue.dlqUrl).toBeDefined();
        await backend.storage.put('inputs/probe.txt', 'hello');
        expect((await backend.storage.getBuffer('inputs/probe.txt')).toString()).toBe('hello');
        // What fauxqs cannot show: MinIO checks presigned signatures.
        const { url } = await backend.storage.presignGet('inputs/probe.txt');
        expect((await fetch(url)).status).toBe(200);
        const tampered = new URL(url);
        tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64));
        expect((await fetch(tampered)).status).toBe(403);
      } finally {
        backend.close();
      }
    } finally {
      await containers.stop();
    }
    await expect(fetch(containers.env.S3_ENDPOINT)).rejects.toThrow();
  });
});
