/**
 * Uploads stream to storage while they arrive (upload/receive-file.ts): files bigger than the probed head and
 * than one multipart part, formats whose header sharp cannot read from a prefix (WebP, GIF: probed from a
 * header-only copy, never read back whole),
 * refusals found mid-stream (truncation, size) that must leave nothing behind, and a batch in which one file is
 * refused mid-stream while the others are queued.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createTaskRepository } from '@photoenhance/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEAD_BYTES } from '../../../src/upload/receive-file.ts';
import { must, readJson, startTestApi, type TestApi } from '../../harness.ts';

const MiB = 1024 * 1024;
let api: TestApi;
let bigJpeg: Buffer;
let bigWebp: Buffer;
let bigGif: Buffer;
let bigTiff: Buffer;

/** Noise does not compress: a photo-sized file of several MiB from a modest pixel count. */
async function noise(width: number, height: number) {
  const raw = randomBytes(width * height * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

beforeAll(async () => {
  bigJpeg = await (await noise(3000, 2000)).jpeg({ quality: 100 }).toBuffer();
  bigWebp = await (await noise(1200, 1000)).webp({ lossless: true }).toBuffer();
  bigGif = await (await noise(1200, 1000)).gif().toBuffer();
  bigTiff = ifdFirstTiff(800, 600);
  // Twice the big JPEG is over the limit; the JPEG itself is not.
  api = await startTestApi({ MAX_UPLOAD_BYTES: String(bigJpeg.length + MiB) });
}, 180_000);
afterAll(async () => {
  await api?.dispose();
});

/**
 * An uncompressed RGB TIFF with its directory right after the header (as cameras and scanners write
 * them), so its probe fits the head while the pixel data streams after it.
 */
function ifdFirstTiff(width: number, height: number): Buffer {
  const entries: [number, number, number, number][] = [
    // tag, type (3 SHORT, 4 LONG), count, value or offset
    [256, 4, 1, width],
    [257, 4, 1, height],
    [258, 3, 3, 0], // BitsPerSample: offset patched below
    [259, 3, 1, 1], // no compression
    [262, 3, 1, 2], // RGB
    [273, 4, 1, 0], // StripOffsets: patched below
    [277, 3, 1, 3],
    [278, 4, 1, height],
    [279, 4, 1, width * height * 3],
    [284, 3, 1, 1],
  ];
  const ifdBytes = 2 + entries.length * 12 + 4;
  const bitsAt = 8 + ifdBytes;
  const dataAt = bitsAt + 6;
  const head = Buffer.alloc(dataAt);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], k) => {
    const at = 10 + 12 * k;
    head.writeUInt16LE(tag, at);
    head.writeUInt16LE(type, at + 2);
    head.writeUInt32LE(count, at + 4);
    const v = tag === 258 ? bitsAt : tag === 273 ? dataAt : value;
    if (type === 3 && count === 1) head.writeUInt16LE(v, at + 8);
    else head.writeUInt32LE(v, at + 8);
  });
  for (let c = 0; c < 3; c++) head.writeUInt16LE(8, bitsAt + 2 * c);
  return Buffer.concat([head, randomBytes(width * height * 3)]);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function post(path: string, form: FormData): Promise<Response> {
  return api.app.request(path, { method: 'POST', body: form });
}

function single(file: Buffer, name: string, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  form.append('file', new File([new Uint8Array(file)], name));
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return form;
}

describe('streamed uploads', () => {
  it('stores a file of several multipart parts byte-identical, probed from its head', async () => {
    expect(bigJpeg.length).toBeGreaterThan(5 * MiB + HEAD_BYTES); // over one 5 MiB part: a multipart upload
    const res = await post('/api/v1/enhance', single(bigJpeg, 'big.jpg', { scale: '1' }));
    expect(res.status).toBe(200);
    const { task_id } = (await readJson(res)) as { task_id: string };
    const record = must(await createTaskRepository(api.backend.storage).read(task_id));
    expect(record.input).toMatchObject({ format: 'jpeg', width: 3000, height: 2000, bytes: bigJpeg.length });
    expect(sha(await api.backend.storage.getBuffer(record.input.key))).toBe(sha(bigJpeg));
  });

  it('probes a WebP whose header does not fit the head from the stored object', async () => {
    expect(bigWebp.length).toBeGreaterThan(HEAD_BYTES);
    const res = await post('/api/v1/enhance', single(bigWebp, 'big.webp', { scale: '1' }));
    expect(res.status).toBe(200);
    const { task_id } = (await readJson(res)) as { task_id: string };
    const record = must(await createTaskRepository(api.backend.storage).read(task_id));
    expect(record.input).toMatchObject({ format: 'webp', width: 1200, height: 1000, bytes: bigWebp.length });
  });

  it.each([
    ['GIF', () => bigGif, 'gif'],
    ['TIFF with its directory first', () => bigTiff, 'tiff'],
  ])('checks a whole %s bigger than the head from the stored object and queues it', async (_what, file, format) => {
    expect(file().length).toBeGreaterThan(HEAD_BYTES);
    const res = await post('/api/v1/enhance', single(file(), `big.${format}`, { scale: '1' }));
    expect(res.status).toBe(200);
    const { task_id } = (await readJson(res)) as { task_id: string };
    const record = must(await createTaskRepository(api.backend.storage).read(task_id));
    expect(record.input).toMatchObject({ format, bytes: file().length });
  });

  it.each([
    ['a JPEG cut off after its head', () => bigJpeg.subarray(0, bigJpeg.length - 100_000), 422, 'CORRUPT_IMAGE'],
    ['a WebP cut off after its head', () => bigWebp.subarray(0, bigWebp.length - 1000), 422, 'CORRUPT_IMAGE'],
    ['a GIF cut off after its head', () => bigGif.subarray(0, bigGif.length - 1000), 422, 'CORRUPT_IMAGE'],
    // TIFF has no streaming check: its directory fits the head, and its strips are found to run past the end.
    [
      'a TIFF (directory first) cut off after its head',
      () => bigTiff.subarray(0, bigTiff.length - 1000),
      422,
      'CORRUPT_IMAGE',
    ],
    ['a file over MAX_UPLOAD_BYTES', () => Buffer.concat([bigJpeg, bigJpeg]), 413, 'FILE_TOO_LARGE'],
  ])('refuses %s found mid-stream and leaves nothing stored', async (_what, file, status, code) => {
    const before = await api.snapshot();
    const res = await post('/api/v1/enhance', single(file(), 'x.jpg'));
    expect(res.status).toBe(status);
    expect((await readJson(res)).error.code).toBe(code);
    expect(await api.snapshot()).toEqual(before);
  });

  it('removes a half-stored upload when the client goes away mid-body', async () => {
    const before = await api.snapshot();
    // The multipart bytes a client would send, then cut off.
    const req = new Request('http://x/', { method: 'POST', body: single(bigJpeg, 'gone.jpg') });
    const bytes = new Uint8Array(await req.arrayBuffer());
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 7 MiB arrive (past the head and one 5 MiB part), then the connection dies.
        if (sent >= 7 * MiB) {
          controller.error(new Error('client went away'));
          return;
        }
        controller.enqueue(bytes.subarray(sent, sent + 256 * 1024));
        sent += 256 * 1024;
      },
    });
    const res = await api.app.request('/api/v1/enhance', {
      method: 'POST',
      body,
      headers: { 'content-type': must(req.headers.get('content-type')) },
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(400);
    expect((await readJson(res)).error.code).toBe('INVALID_INPUT');
    expect(await api.snapshot()).toEqual(before);
  });

  it('refuses options sent after the file once it has streamed, removing the stored input', async () => {
    const before = await api.snapshot();
    const res = await post('/api/v1/enhance', single(bigJpeg, 'big.jpg', { scale: '99' }));
    expect(res.status).toBe(400);
    expect((await readJson(res)).error.code).toBe('INVALID_OPTIONS');
    expect(await api.snapshot()).toEqual(before);
  });

  it('queues the good files of a batch and reports the one refused mid-stream', async () => {
    const form = new FormData();
    form.append('scale', '1');
    form.append('files', new File([new Uint8Array(bigJpeg)], 'a.jpg'));
    form.append('files', new File([new Uint8Array(Buffer.concat([bigJpeg, bigJpeg]))], 'too-big.jpg'));
    form.append('files', new File([new Uint8Array(bigWebp)], 'c.webp'));
    const res = await post('/api/v1/enhance/batch', form);
    expect(res.status).toBe(200);
    const body = (await readJson(res)) as {
      tasks: { task_id: string; filename: string }[];
      rejected: { index: number; error: { code: string } }[];
    };
    expect(body.tasks.map((t) => t.filename)).toEqual(['a.jpg', 'c.webp']);
    expect(body.rejected).toEqual([
      expect.objectContaining({ index: 1, error: expect.objectContaining({ code: 'FILE_TOO_LARGE' }) }),
    ]);
    const inputs = (await api.backend.storage.list('inputs/')).map((o) => o.key);
    for (const t of body.tasks) expect(inputs.some((k) => k.startsWith(`inputs/${t.task_id}/`))).toBe(true);
    expect(inputs.some((k) => k.includes('too-big'))).toBe(false);
  });
});
