import type { S3Client } from '@aws-sdk/client-s3';
import { newId, PhotoEnhanceError } from '@photoenhance/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPresignedReads } from '../../src/storage/presigned-reads.ts';
import { createS3Client } from '../../src/storage/s3-client.ts';
import { createS3Storage } from '../../src/storage/s3-storage.ts';
import { startTestBackend, type TestBackend } from '../backend/harness.ts';

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.dispose();
});

/** A client for the embedded store that counts the requests its middleware stack builds (presigns included). */
function countingClient(secretAccessKey = backend.embedded.credentials.secretAccessKey) {
  const client = createS3Client({
    endpoint: backend.embedded.s3Endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: backend.embedded.credentials.accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  const built = { count: 0 };
  client.middlewareStack.add(
    (next) => (args) => {
      built.count++;
      return next(args);
    },
    { step: 'build', name: 'countBuilt' },
  );
  return { client: client as S3Client, built };
}

describe('presigned reads (the hot JSON read path) on fauxqs', () => {
  it('signs a key once and replays the URL: each read sees the current version and its ETag', async () => {
    const { client, built } = countingClient();
    const reads = createPresignedReads({ client, bucket: backend.storage.bucket });
    const key = `tasks/${newId()}.json`;
    const first = await backend.storage.put(key, '{"n":1}', { contentType: 'application/json' });
    const a = await reads.get(key);
    expect(a?.body.toString()).toBe('{"n":1}');
    expect(a?.etag).toBe(first.etag);
    const second = await backend.storage.put(key, '{"n":2}', { contentType: 'application/json' });
    const b = await reads.get(key);
    expect(b?.body.toString()).toBe('{"n":2}');
    expect(b?.etag).toBe(second.etag);
    expect(second.etag).not.toBe(first.etag);
    expect(built.count).toBe(1); // one presign, two GETs without the SDK's stack

    await backend.storage.delete(key);
    expect(await reads.get(key)).toBeNull();
    expect(await reads.get(`tasks/${newId()}.json`)).toBeNull();
  });

  it('signs again once the reuse time is over', async () => {
    const { client, built } = countingClient();
    const reads = createPresignedReads({ client, bucket: backend.storage.bucket, reuseSeconds: 0 });
    const key = `tasks/${newId()}.json`;
    await backend.storage.put(key, '{}', { contentType: 'application/json' });
    await reads.get(key);
    await reads.get(key);
    expect(built.count).toBe(2);
  });

  it('leaves a refused read (403) to the SDK path, whose error mapping the storage reports', async () => {
    const { client, built } = countingClient('not-the-secret');
    const key = `tasks/${newId()}.json`;
    await backend.storage.put(key, '{"n":1}', { contentType: 'application/json' });
    const reads = createPresignedReads({ client, bucket: backend.storage.bucket });
    expect(await reads.get(key)).toBeUndefined();
    await reads.get(key);
    expect(built.count).toBe(2); // the refused URL was dropped, not replayed

    const storage = createS3Storage({ client, bucket: backend.storage.bucket });
    const err = await storage.readJson(key, (v) => v).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhotoEnhanceError);
    expect((err as PhotoEnhanceError).code).toBe('STORAGE_ERROR');
    expect((err as PhotoEnhanceError).message).toMatch(/403/);
  });

  it('serves readJson / readJsonVersioned through it, shape checks and missing objects unchanged', async () => {
    const key = `tasks/${newId()}.json`;
    const { etag } = await backend.storage.writeJson(key, { n: 3 });
    const parse = (v: unknown) => {
      if (typeof (v as { n?: unknown }).n !== 'number') throw new Error('no n');
      return v as { n: number };
    };
    expect(await backend.storage.readJsonVersioned(key, parse)).toEqual({ value: { n: 3 }, etag });
    await backend.storage.put(key, 'not json', { contentType: 'application/json' });
    await expect(backend.storage.readJson(key, parse)).rejects.toThrow(/not JSON/);
    await backend.storage.writeJson(key, { m: 1 });
    await expect(backend.storage.readJson(key, parse)).rejects.toThrow(/unexpected shape/);
    await backend.storage.delete(key);
    expect(await backend.storage.readJson(key, parse)).toBeNull();
  });
});
