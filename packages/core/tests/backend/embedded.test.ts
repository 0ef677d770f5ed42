import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnhanceOptionsSchema, newId } from '@photoenhance/contracts';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBackend } from '../../src/backend/connect.ts';
import { CommonEnvSchema } from '../../src/config/common.ts';
import { loadConfig } from '../../src/config/env.ts';
import { bootstrapResources } from '../../src/embedded/bootstrap.ts';
import { type EmbeddedBackend, embeddedEnv, startEmbeddedBackend } from '../../src/embedded/embedded.ts';
import { createS3Client } from '../../src/storage/s3-client.ts';
import { must } from './harness.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function connect(backend: EmbeddedBackend) {
  return connectBackend(loadConfig(CommonEnvSchema, embeddedEnv(backend)));
}

describe('embedded backend', () => {
  it('keeps objects, queued messages and receive counts across a restart on the same data dir', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pe-embedded-'));
    dirs.push(dataDir);
    const taskId = newId();

    const first = await startEmbeddedBackend({ dataDir, port: 0 });
    const a = await connect(first);
    await a.storage.put(`inputs/${taskId}/a.png`, Buffer.from('kept'));
    await a.queue.send({
      version: 1,
      taskId,
      inputKey: `inputs/${taskId}/a.png`,
      options: EnhanceOptionsSchema.parse({}),
    });
    // Handing a job back (visibility 0) must persist too: fauxqs 2.4.1 needs the embedded patch for it.
    const [taken] = await a.queue.receive({ waitTimeSeconds: 1 });
    await a.queue.changeVisibility(must(taken).receiptHandle, 0);
    a.close();
    await first.stop();

    const second = await startEmbeddedBackend({ dataDir, port: 0 });
    try {
      const b = await connect(second);
      expect((await b.storage.getBuffer(`inputs/${taskId}/a.png`)).toString()).toBe('kept');
      const [m] = await b.queue.receive({ waitTimeSeconds: 1 });
      expect(m?.job?.taskId).toBe(taskId);
      expect(m?.receiveCount).toBe(2);
      b.close();
    } finally {
      await second.stop();
    }
  });

  it('bootstraps idempotently and wires the redrive policy', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pe-embedded-'));
    dirs.push(dataDir);
    const server = await startEmbeddedBackend({ dataDir, port: 0 });
    try {
      const { sqs, close } = await connect(server);
      // The backend hands out storage, never a raw S3 client: bootstrap gets its own, signed with its credentials.
      const env = embeddedEnv(server);
      const s3 = createS3Client({
        endpoint: server.s3Endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
      });
      const opts = {
        s3,
        sqs,
        bucket: 'other-bucket',
        queueName: 'q1',
        dlqName: 'q1-dlq',
        maxReceiveCount: 5,
        visibilityTimeout: 60,
      };
      const once = await bootstrapResources(opts);
      const twice = await bootstrapResources(opts);
      expect(twice).toEqual(once);
      const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
      const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: once.queueUrl, AttributeNames: ['All'] }));
      expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}')).toMatchObject({
        deadLetterTargetArn: once.dlqArn,
        maxReceiveCount: 5,
      });
      expect(attrs.Attributes?.VisibilityTimeout).toBe('60');
      s3.destroy();
      close();
    } finally {
      await server.stop();
    }
  });

  it('explains a port that is already taken', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pe-embedded-'));
    dirs.push(dataDir);
    const server = await startEmbeddedBackend({ dataDir, port: 0 });
    try {
      await expect(startEmbeddedBackend({ dataDir: join(dataDir, 'b'), port: server.port })).rejects.toThrow(
        /already in use/,
      );
    } finally {
      await server.stop();
    }
  });

  it('answers CORS like a bucket CORS rule for the allowed origin, so its page can PUT to a presigned URL', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pe-embedded-'));
    dirs.push(dataDir);
    const server = await startEmbeddedBackend({ dataDir, port: 0, corsOrigins: ['http://localhost:8000'] });
    try {
      const backend = await connect(server);
      const key = `inputs/${newId()}/cors.png`;
      const link = await backend.storage.presignPut(key, { contentType: 'image/png', contentLength: 4, expiresIn: 60 });
      const origin = { Origin: 'http://localhost:8000' };
      const preflight = await fetch(link.url, {
        method: 'OPTIONS',
        headers: {
          ...origin,
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'content-type',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:8000');
      expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT');
      expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');
      const put = await fetch(link.url, { method: 'PUT', headers: { ...origin, ...link.headers }, body: 'abcd' });
      expect(put.status).toBe(200);
      expect(put.headers.get('access-control-allow-origin')).toBe('http://localhost:8000');
      expect((await backend.storage.getBuffer(key)).toString()).toBe('abcd');
      // Without an Origin nothing changes for SDK clients.
      const plain = await fetch((await backend.storage.presignGet(key)).url, { method: 'HEAD' });
      expect(plain.headers.get('access-control-allow-origin')).toBeNull();
      backend.close();
    } finally {
      await server.stop();
    }
  });
});
