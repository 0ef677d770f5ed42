import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Backend,
  connectBackend,
  createTaskRepository,
  type EmbeddedBackend,
  embeddedEnv,
  type Storage,
  startEmbeddedBackend,
} from '@photoenhance/core';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadApiConfig } from '../../src/config.ts';
import { createApiMetrics } from '../../src/metrics.ts';
import { HEADER_SEARCH_BYTES } from '../../src/upload/finish-check.ts';
import { BLOCK_BYTES, createRangeReader, STRUCTURE_READ_BYTES } from '../../src/upload/range-reader.ts';
import { HEAD_BYTES } from '../../src/upload/receive-file.ts';
import { readTiffStructure } from '../../src/upload/tiff-structure.ts';
import { readJson } from '../harness.ts';

/**
 * The real app on the embedded backend, its storage wrapped to count what the upload checks read back: a
 * 20 MB TIFF and a 2 MB GIF, sent multipart and direct, are verified with a few KiB of ranged reads (TIFF)
 * or none at all (GIF, checked as it streams), never a whole-object read.
 */
interface Reads {
  buffers: number;
  rangeBytes: number;
  streams: number;
}

function countingStorage(storage: Storage): { storage: Storage; reads: Reads; reset(): void } {
  const reads: Reads = { buffers: 0, rangeBytes: 0, streams: 0 };
  const wrapped: Storage = Object.create(storage) as Storage;
  wrapped.getBuffer = async (key) => {
    reads.buffers++;
    return storage.getBuffer(key);
  };
  wrapped.getRange = async (key, start, end) => {
    const bytes = await storage.getRange(key, start, end);
    reads.rangeBytes += bytes.length;
    return bytes;
  };
  wrapped.getStream = async (key) => {
    reads.streams++;
    return storage.getStream(key);
  };
  return {
    storage: wrapped,
    reads,
    reset() {
      Object.assign(reads, { buffers: 0, rangeBytes: 0, streams: 0 });
    },
  };
}

let dataDir: string;
let embedded: EmbeddedBackend;
let backend: Backend;
let counting: ReturnType<typeof countingStorage>;
let app: ReturnType<typeof createApp>;
let tiff: Buffer;
let gif: Buffer;
let webp: Buffer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pe-readback-'));
  embedded = await startEmbeddedBackend({ dataDir, port: 0 });
  const config = loadApiConfig({
    ...embeddedEnv(embedded),
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '0',
    MAX_UPLOAD_BYTES: String(40 * 1024 * 1024),
    DIRECT_UPLOAD_MAX_BYTES: String(40 * 1024 * 1024),
  });
  backend = await connectBackend(config);
  counting = countingStorage(backend.storage);
  app = createApp({
    storage: counting.storage,
    queue: backend.queue,
    config,
    logger: pino({ level: 'silent' }),
    metrics: createApiMetrics({ defaultMetrics: false }),
  });
  // Uncompressed strips: ~20 MB, with libvips's directory at the very end (past any prefix).
  const gradient = sharp({ create: { width: 2600, height: 2600, channels: 3, background: '#468' } });
  tiff = await gradient.tiff({ compression: 'none' }).toBuffer();
  gif = await sharp({
    create: {
      width: 2000,
      height: 1500,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 60 },
    },
  })
    .gif({ effort: 1, colours: 16, dither: 0 }) // fast to make; noise keeps it ~1.8 MB
    .toBuffer();
  webp = await sharp({
    create: {
      width: 1500,
      height: 1200,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 60 },
    },
  })
    .webp({ lossless: true, effort: 0 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}, 60_000);

afterAll(async () => {
  backend?.close();
  await embedded?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function multipart(bytes: Buffer, name: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new File([new Uint8Array(bytes)], name));
  counting.reset();
  return app.request('/api/v1/enhance', { method: 'POST', body: form });
}

async function direct(bytes: Buffer, name: string, contentType: string): Promise<Response> {
  const issued = await app.request('/api/v1/uploads', {
    method: 'POST',
    body: JSON.stringify({ filename: name, content_type: contentType, size: bytes.length }),
    headers: { 'content-type': 'application/json' },
  });
  expect(issued.status).toBe(201);
  const { task_id, upload } = await readJson(issued);
  const { 'content-length': _length, ...headers } = upload.headers as Record<string, string>;
  const put = await fetch(upload.url, { method: 'PUT', body: new Uint8Array(bytes), headers });
  expect(put.status).toBe(200);
  counting.reset();
  return app.request(`/api/v1/tasks/${task_id}/start`, { method: 'POST' });
}

const cuts = (whole: Buffer) => [whole.subarray(0, whole.length - 1), whole.subarray(0, Math.floor(whole.length / 2))];

describe('upload checks read back a bounded number of bytes, never a whole object', () => {
  it('a 20 MB TIFF whose directory is at the end: a few KiB of ranged reads, multipart and direct', async () => {
    expect(tiff.length).toBeGreaterThan(20_000_000);
    expect(tiff.readUInt32LE(4)).toBeGreaterThan(tiff.length - 1024); // the directory lies past every prefix

    const viaForm = await multipart(tiff, 'scan.tif');
    expect(viaForm.status).toBe(200);
    expect(counting.reads).toMatchObject({ buffers: 0, streams: 0 });
    expect(counting.reads.rangeBytes).toBeGreaterThan(0);
    expect(counting.reads.rangeBytes).toBeLessThanOrEqual(2 * BLOCK_BYTES);

    const viaPut = await direct(tiff, 'scan.tif', 'image/tiff');
    expect(viaPut.status).toBe(202);
    expect(counting.reads.buffers).toBe(0);
    // The header prefix is one stream stopped at 4 MiB; the directory at the end is one ranged block.
    expect(counting.reads.rangeBytes).toBeLessThanOrEqual(2 * BLOCK_BYTES);
  });

  it('the same TIFF cut short is refused with CORRUPT_IMAGE, multipart and direct, with bounded reads', async () => {
    for (const cut of cuts(tiff)) {
      const viaForm = await multipart(cut, 'scan.tif');
      expect(viaForm.status).toBe(422);
      expect((await readJson(viaForm)).error.code).toBe('CORRUPT_IMAGE');
      expect(counting.reads.buffers).toBe(0);
      expect(counting.reads.rangeBytes).toBeLessThanOrEqual(STRUCTURE_READ_BYTES);

      const viaPut = await direct(cut, 'scan.tif', 'image/tiff');
      expect(viaPut.status).toBe(422);
      expect((await readJson(viaPut)).error.code).toBe('CORRUPT_IMAGE');
      expect(counting.reads.buffers).toBe(0);
      expect(counting.reads.rangeBytes).toBeLessThanOrEqual(STRUCTURE_READ_BYTES);
    }
  });

  it('a 2 MB GIF is checked as it streams: nothing read back multipart, one streamed pass direct', async () => {
    expect(gif.length).toBeGreaterThan(1.5 * HEAD_BYTES);
    const viaForm = await multipart(gif, 'noise.gif');
    expect(viaForm.status).toBe(200);
    expect(counting.reads).toEqual({ buffers: 0, rangeBytes: 0, streams: 0 });

    const viaPut = await direct(gif, 'noise.gif', 'image/gif');
    expect(viaPut.status).toBe(202);
    expect(counting.reads.buffers).toBe(0);
    expect(counting.reads.rangeBytes).toBe(0);

    for (const cut of cuts(gif)) {
      const form = await multipart(cut, 'noise.gif');
      expect(form.status).toBe(422);
      expect((await readJson(form)).error.code).toBe('CORRUPT_IMAGE');
      expect(counting.reads).toEqual({ buffers: 0, rangeBytes: 0, streams: 0 });
      const put = await direct(cut, 'noise.gif', 'image/gif');
      expect(put.status).toBe(422);
      expect((await readJson(put)).error.code).toBe('CORRUPT_IMAGE');
      expect(counting.reads.buffers).toBe(0);
    }
  });

  it('a 5 MB WebP (unreadable from any prefix) is probed from its chunk headers, multipart and direct', async () => {
    expect(webp.length).toBeGreaterThan(HEADER_SEARCH_BYTES);
    const viaForm = await multipart(webp, 'big.webp');
    expect(viaForm.status).toBe(200);
    expect(counting.reads.buffers).toBe(0);
    // The RIFF header is in the head; the EXIF chunk (the orientation) at the end costs one block.
    expect(counting.reads.rangeBytes).toBeLessThanOrEqual(2 * BLOCK_BYTES);
    const record = await createTaskRepository(backend.storage).read((await readJson(viaForm)).task_id);
    // Orientation 6 from the EXIF chunk at the end: the displayed size is turned.
    expect(record?.input).toMatchObject({ format: 'webp', width: 1200, height: 1500, bytes: webp.length });

    const viaPut = await direct(webp, 'big.webp', 'image/webp');
    expect(viaPut.status).toBe(202);
    expect(counting.reads.buffers).toBe(0);
    expect(counting.reads.rangeBytes).toBeLessThanOrEqual(2 * BLOCK_BYTES);

    const cut = await multipart(webp.subarray(0, webp.length - 1000), 'big.webp');
    expect(cut.status).toBe(422);
    expect((await readJson(cut)).error.code).toBe('CORRUPT_IMAGE');
  });

  it('a JPEG header pushed past every prefix by metadata is probed from the copy the check kept', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#a52' } })
      .jpeg()
      .toBuffer();
    // 5 MiB of application segments (APP15, 64 KiB each) between SOI and the frame header.
    const segments: Buffer[] = [];
    for (let n = 0; n < 5 * 1024 * 1024; n += 65_537) {
      const segment = Buffer.alloc(65_537);
      segment.writeUInt16BE(0xffef, 0);
      segment.writeUInt16BE(65_535, 2);
      segments.push(segment);
    }
    const padded = Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
    for (const res of [await multipart(padded, 'late.jpg'), await direct(padded, 'late.jpg', 'image/jpeg')]) {
      expect([200, 202]).toContain(res.status);
      expect(counting.reads).toMatchObject({ buffers: 0, rangeBytes: 0 });
    }
  });

  it('another header past the prefix is looked for up to 4 MiB with one bounded read, then refused', async () => {
    const avif = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#a52' } })
      .avif()
      .toBuffer();
    // A `free` box between `ftyp` and `meta` pushes the HEIF header back (every box is walked as it streams).
    const pushedBack = (bytes: number) => {
      const ftyp = avif.readUInt32BE(0);
      const free = Buffer.alloc(bytes);
      free.writeUInt32BE(bytes, 0);
      free.write('free', 4, 'latin1');
      return Buffer.concat([avif.subarray(0, ftyp), free, avif.subarray(ftyp)]);
    };
    const within = pushedBack(2 * 1024 * 1024);
    const res = await multipart(within, 'late.avif');
    expect(res.status).toBe(200);
    expect(counting.reads.buffers).toBe(0);
    expect(counting.reads.rangeBytes).toBe(within.length); // under 4 MiB: read once, up to the bound

    const beyond = pushedBack(5 * 1024 * 1024);
    for (const refused of [await multipart(beyond, 'late.avif'), await direct(beyond, 'late.avif', 'image/avif')]) {
      expect(refused.status).toBe(422);
      const { error } = await readJson(refused);
      expect(error.code).toBe('CORRUPT_IMAGE');
      expect(error.message).toContain('header could not be read from the first 4194304 bytes');
      expect(counting.reads.buffers).toBe(0);
      expect(counting.reads.rangeBytes).toBeLessThanOrEqual(4 * 1024 * 1024);
    }
  });

  it('a TIFF whose directories take more than the budget is refused, having read no more than it', async () => {
    // A pyramid: one directory per level, each behind its level's tiles, so each costs a block of its own.
    const pyramid = await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#123' } })
      .tiff({ pyramid: true, tile: true, tileWidth: 64, tileHeight: 64, compression: 'none' })
      .toBuffer();
    const key = 'inputs/0f1e2d3c-4b5a-4c6d-8e7f-0000000000aa/pyramid.tif';
    await backend.storage.put(key, pyramid);
    counting.reset();
    const reader = createRangeReader(counting.storage, key, pyramid.length, {
      budget: 2 * BLOCK_BYTES,
      what: 'TIFF directories',
    });
    await expect(readTiffStructure(reader)).rejects.toMatchObject({
      code: 'UNSUPPORTED_FORMAT',
      message: expect.stringContaining('TIFF directories take more than 32768 bytes'),
    });
    expect(counting.reads.rangeBytes).toBeLessThanOrEqual(2 * BLOCK_BYTES);
    // With the default budget the same file passes.
    const roomy = createRangeReader(counting.storage, key, pyramid.length, { what: 'TIFF directories' });
    await expect(readTiffStructure(roomy)).resolves.toBeInstanceOf(Buffer);
  });
});
