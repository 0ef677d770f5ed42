import { Readable } from 'node:stream';
import { EnhanceOptionsSchema, newId, PhotoEnhanceError } from '@photoenhance/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskRepository } from '../../src/records/tasks.ts';
import { keys } from '../../src/storage/keys.ts';
import { createS3Client } from '../../src/storage/s3-client.ts';
import { createS3Storage } from '../../src/storage/s3-storage.ts';
import { startTestBackend, type TestBackend } from './harness.ts';

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.dispose();
});

function queuedRecord(taskId: string) {
  const now = new Date().toISOString();
  return {
    taskId,
    status: 'queued' as const,
    options: EnhanceOptionsSchema.parse({ scale: 2 }),
    input: {
      key: keys.input(taskId, 'me.jpg'),
      filename: 'me.jpg',
      contentType: 'image/jpeg',
      bytes: 3,
      width: 2,
      height: 2,
      format: 'jpeg',
    },
    createdAt: now,
    updatedAt: now,
  };
}

describe('storage repository on fauxqs', () => {
  it('puts, heads, reads back as buffer and stream, lists and deletes', async () => {
    const { storage } = backend;
    const id = newId();
    const key = keys.input(id, 'photo.png');
    await storage.put(key, Buffer.from('abc'), { contentType: 'image/png', metadata: { origin: 'test' } });
    const head = await storage.head(key);
    expect(head).toMatchObject({ key, bytes: 3, contentType: 'image/png' });
    expect(head?.metadata?.origin).toBe('test');
    expect((await storage.getBuffer(key)).toString()).toBe('abc');

    const streamed = await storage.getStream(key);
    const chunks: Buffer[] = [];
    for await (const chunk of streamed.body) chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).toString()).toBe('abc');

    await storage.put(`${keys.inputPrefix(id)}second.bin`, Readable.from([Buffer.from('12345')]), { contentLength: 5 });
    expect((await storage.list(keys.inputPrefix(id))).map((o) => o.key).sort()).toEqual(
      [key, `${keys.inputPrefix(id)}second.bin`].sort(),
    );

    expect(await storage.deletePrefix(keys.inputPrefix(id))).toBe(2);
    expect(await storage.list(keys.inputPrefix(id))).toEqual([]);
    expect(await storage.head(key)).toBeNull();
  });

  it('reads byte ranges through the embedded front (Range GET), clipped at the end, refused past it', async () => {
    const { storage } = backend;
    const key = keys.input(newId(), 'ranged.bin');
    const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    await storage.put(key, body);
    expect((await storage.getRange(key, 0, 9)).equals(body.subarray(0, 10))).toBe(true);
    expect((await storage.getRange(key, 123_456, 200_000)).equals(body.subarray(123_456, 200_001))).toBe(true);
    // A range running past the end stops at the last byte, as S3 does.
    expect((await storage.getRange(key, 299_990, 400_000)).equals(body.subarray(299_990))).toBe(true);
    await expect(storage.getRange(key, 300_000, 300_010)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(storage.getRange(keys.input(newId(), 'none.bin'), 0, 1)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('streams a body of unknown length in parts, and leaves nothing when the body fails', async () => {
    const { storage } = backend;
    // Over two 5 MiB parts, in uneven chunks: a multipart upload whose parts are cut from the stream.
    const data = Buffer.alloc(11 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >>> 11)) & 0xff;
    async function* chunks(fail?: Error) {
      for (let i = 0; i < data.length; i += 300_001) {
        if (fail && i > 6 * 1024 * 1024) throw fail;
        yield data.subarray(i, i + 300_001);
      }
    }
    await storage.upload('streams/whole.bin', Readable.from(chunks()), { contentType: 'application/octet-stream' });
    expect((await storage.getBuffer('streams/whole.bin')).equals(data)).toBe(true);
    await storage.upload('streams/small.bin', Readable.from([Buffer.from('tiny')]));
    expect((await storage.getBuffer('streams/small.bin')).toString()).toBe('tiny');

    // The body's own refusal is what the caller gets, after the first part went up: no object is left.
    const refusal = new PhotoEnhanceError('FILE_TOO_LARGE', 'too big');
    await expect(storage.upload('streams/cut.bin', Readable.from(chunks(refusal)))).rejects.toBe(refusal);
    expect(await storage.head('streams/cut.bin')).toBeNull();
    await storage.deletePrefix('streams/');
  });

  it('maps a missing object to NOT_FOUND and refuses stream puts without a length', async () => {
    const err = await backend.storage.getBuffer(`inputs/${newId()}/nope.png`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhotoEnhanceError);
    expect((err as PhotoEnhanceError).code).toBe('NOT_FOUND');
    await expect(backend.storage.put('x', Readable.from(['a']))).rejects.toThrow(/contentLength/);
  });

  it('maps an unreachable endpoint to a retryable STORAGE_ERROR', async () => {
    const dead = createS3Storage({
      client: createS3Client({
        endpoint: 'http://127.0.0.1:9',
        region: 'us-east-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        maxAttempts: 1,
      }),
      bucket: 'photoenhance',
    });
    const err = (await dead.ping().catch((e: unknown) => e)) as PhotoEnhanceError;
    expect(err.code).toBe('STORAGE_ERROR');
    expect(err.retryable).toBe(true);
    expect(err.cause).toBeDefined();
  });

  it('presigns a GET that downloads the object as an attachment', async () => {
    const id = newId();
    const key = keys.output(id, 'me.jpg', 'png');
    expect(key).toBe(`outputs/${id}/me_enhanced.png`);
    await backend.storage.put(key, Buffer.from('png-bytes'), { contentType: 'image/png' });
    const link = await backend.storage.presignGet(key, { filename: 'me_enhanced.png', expiresIn: 60 });
    expect(link.expiresAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    const url = new URL(link.url);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('response-content-disposition')).toContain('attachment; filename="me_enhanced.png"');
    const res = await fetch(link.url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe('png-bytes');
  });

  it('signs presigned URLs for the public endpoint when one is given', async () => {
    const publicClient = createS3Client({
      endpoint: 'http://photos.example.test:9000',
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const client = createS3Client({
      endpoint: backend.embedded.s3Endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const split = createS3Storage({ client, bucket: backend.storage.bucket, presignClient: publicClient });
    const link = await split.presignGet('outputs/x.png');
    expect(link.url.startsWith(`http://photos.example.test:9000/${backend.storage.bucket}/outputs/x.png?`)).toBe(true);
    publicClient.destroy();
    client.destroy();
  });

  it('presigns a PUT bound to content type and length, with no checksum parameters', async () => {
    const key = keys.input(newId(), 'up.png');
    const put = await backend.storage.presignPut(key, { contentType: 'image/png', contentLength: 4 });
    const url = new URL(put.url);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect([...url.searchParams.keys()].some((k) => k.toLowerCase().includes('checksum'))).toBe(false);
    const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body: Buffer.from('1234') });
    expect(res.status).toBe(200);
    expect((await backend.storage.getBuffer(key)).toString()).toBe('1234');
  });

  it('round-trips task records and applies the cancel marker when reading the state', async () => {
    const id = newId();
    expect(await createTaskRepository(backend.storage).read(id)).toBeNull();
    const written = await createTaskRepository(backend.storage).write(queuedRecord(id));
    expect(written.progress).toBe(0);
    expect(written.attempts).toBe(0);
    expect(await createTaskRepository(backend.storage).read(id)).toEqual(written);

    // The worker (sole writer after creation) moves it on; then the API asks for cancellation.
    await createTaskRepository(backend.storage).write({
      ...written,
      status: 'processing',
      progress: 40,
      stage: 'upscale',
      updatedAt: new Date().toISOString(),
    });
    await createTaskRepository(backend.storage).writeCancelMarker(id, 'user');
    expect((await createTaskRepository(backend.storage).read(id))?.status).toBe('processing');
    const state = await createTaskRepository(backend.storage).readState(id);
    expect(state?.status).toBe('cancelled');
    expect(state?.cancelRequested).toBe(true);
  });

  it('rejects an invalid task record before writing it', async () => {
    const id = newId();
    await expect(createTaskRepository(backend.storage).write({ ...queuedRecord(id), progress: 140 })).rejects.toThrow();
    expect(await backend.storage.head(keys.taskRecord(id))).toBeNull();
  });
});
