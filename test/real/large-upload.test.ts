/**
 * A large input end to end into MinIO: the API's multipart/form-data upload and the storage repository's stream
 * upload must arrive byte for byte with real S3 framing (Content-Length, no aws-chunked trailers MinIO refuses);
 * ranged reads (what a TIFF's check uses instead of reading the object back whole) are served by MinIO too.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { newId } from '@photoenhance/contracts';
import { createTaskRepository } from '@photoenhance/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadImage } from '../harness/client.ts';
import { FAST_FORM } from '../harness/engine.ts';
import type { Stack } from '../harness/stack.ts';
import { startRealStack } from './servers.ts';

let stack: Stack;
let big: Buffer;
beforeAll(async () => {
  stack = await startRealStack();
  // Uncompressed noise: ~12.6 MB that no codec can shrink, small enough in pixels (4.2 MP) for the limits.
  big = await sharp({
    create: {
      width: 2048,
      height: 2048,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 60 },
    },
  })
    .png({ compressionLevel: 0 })
    .toBuffer();
});
afterAll(async () => {
  await stack?.stop();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function sha256OfStream(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(stream, hash);
  return hash.digest('hex');
}

describe('large inputs (MinIO)', () => {
  it('POST /api/v1/enhance stores a 12 MB multipart upload byte for byte and queues the task', async () => {
    expect(big.length).toBeGreaterThan(12_000_000);
    const upload = await uploadImage(stack.apiUrl, big, { ...FAST_FORM, scale: '1' }, 'big scan.png');
    expect(upload.status).toBe(200);
    const taskId = upload.body.task_id ?? '';

    const record = await createTaskRepository(stack.backend.storage).read(taskId);
    expect(record).toMatchObject({ status: 'queued', input: { bytes: big.length, width: 2048, height: 2048 } });
    const key = record?.input.key ?? '';
    expect(await stack.backend.storage.head(key)).toMatchObject({ bytes: big.length, contentType: 'image/png' });
    expect(sha256(await stack.backend.storage.getBuffer(key))).toBe(sha256(big));
    const [queued] = await stack.backend.queue.receive({ waitTimeSeconds: 2 });
    expect(queued?.job).toMatchObject({ taskId, inputKey: key });
    if (queued) await stack.backend.queue.delete(queued.receiptHandle);
  });

  it('a 12 MB TIFF with its directory at the end is checked by ranged reads; cut short it is CORRUPT_IMAGE', async () => {
    const tiff = await sharp(big).tiff({ compression: 'none' }).toBuffer();
    expect(tiff.readUInt32LE(4)).toBeGreaterThan(12_000_000); // the directory lies past every streamed prefix
    const upload = await uploadImage(stack.apiUrl, tiff, { ...FAST_FORM, scale: '1' }, 'scan.tif', 'image/tiff');
    expect(upload.status).toBe(200);
    const record = await createTaskRepository(stack.backend.storage).read(upload.body.task_id ?? '');
    expect(record?.input).toMatchObject({ format: 'tiff', width: 2048, height: 2048, bytes: tiff.length });
    const key = record?.input.key ?? '';
    // MinIO's answer to the Range GETs the check makes.
    expect((await stack.backend.storage.getRange(key, 4, 7)).readUInt32LE(0)).toBe(tiff.readUInt32LE(4));
    expect((await stack.backend.storage.getRange(key, tiff.length - 10, tiff.length + 100)).length).toBe(10);

    const cut = await uploadImage(
      stack.apiUrl,
      tiff.subarray(0, tiff.length - 100),
      FAST_FORM,
      'cut.tif',
      'image/tiff',
    );
    expect(cut).toMatchObject({ status: 422, body: { error: { code: 'CORRUPT_IMAGE' } } });
  });

  it('stream upload with a known length and stream download round-trip a large object', async () => {
    const key = `inputs/${newId()}/streamed.png`;
    // 1 MiB chunks, as a request body or file would arrive.
    const chunks = Array.from({ length: Math.ceil(big.length / 2 ** 20) }, (_, i) =>
      big.subarray(i * 2 ** 20, (i + 1) * 2 ** 20),
    );
    await stack.backend.storage.put(key, Readable.from(chunks), {
      contentType: 'image/png',
      contentLength: big.length,
    });
    const download = await stack.backend.storage.getStream(key);
    expect([download.bytes, download.contentType]).toEqual([big.length, 'image/png']);
    expect(await sha256OfStream(download.body)).toBe(sha256(big));
  });
});
