/** The cost bench's counting proxy forwards requests unchanged and counts them by S3 price tier and SQS action. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommonEnvSchema, connectBackend, embeddedEnv, loadConfig, startEmbeddedBackend } from '@photoenhance/core';
import { describe, expect, it } from 'vitest';
import { startCountingProxy } from '../cost/counting-proxy.ts';

describe('counting proxy', () => {
  it('counts a put, a get, a head, a list and a delete by tier, and SQS calls by action', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pe-proxy-'));
    const embedded = await startEmbeddedBackend({ dataDir, port: 0 });
    const s3 = await startCountingProxy(embedded.s3Endpoint, 's3');
    const sqs = await startCountingProxy(embedded.sqsEndpoint, 'sqs');
    try {
      const backend = await connectBackend(
        // The embedded backend takes only its own credentials; the proxy forwards the signed requests unchanged.
        loadConfig(CommonEnvSchema, {
          ...embeddedEnv(embedded),
          S3_ENDPOINT: s3.url,
          SQS_ENDPOINT: sqs.url,
          SQS_QUEUE_NAME: 'proxy-jobs',
        }),
      );
      s3.reset();
      sqs.reset();
      await backend.storage.put('inputs/x/a.txt', 'hello');
      expect((await backend.storage.getBuffer('inputs/x/a.txt')).toString()).toBe('hello');
      await backend.storage.head('inputs/x/a.txt');
      await backend.storage.list('inputs/');
      await backend.storage.delete('inputs/x/a.txt');
      await backend.queue.depth();
      expect(s3.counts.s3).toEqual({ put: 1, get: 2, list: 1, delete: 1 });
      expect(sqs.counts.sqs).toEqual({ GetQueueAttributes: 1 });
      backend.close();
    } finally {
      await s3.close();
      await sqs.close();
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
