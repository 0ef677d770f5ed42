/**
 * Issue 11 §6 on MinIO + ElasticMQ: image bombs and odd files. Bombs (huge declared dimensions, truncated
 * files) are refused by the API before anything is decoded or stored; odd but valid files (CMYK JPEG, palette
 * PNG with transparency) are processed, or failed with a clear code — by a worker running
 * under a V8 heap cap whose resident memory is sampled throughout and must stay under a bound.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiProc,
  connectScenario,
  figure,
  type Proc,
  scenarioEnv,
  sleep,
  startApi,
  startWorker,
  taskReader,
} from './procs.ts';

/** The worker's resident memory may not pass this, whatever it is sent (ORT sessions alone take ~350 MiB). */
const RSS_BOUND = 1536 * 2 ** 20;
const env = scenarioEnv('odd', { WORKER_LEASE_SECONDS: '15', MAX_RECEIVE_COUNT: '3' });

let api: ApiProc;
let worker: Proc;
beforeAll(async () => {
  api = await startApi(env);
  worker = await startWorker({ ...env, WORKER_ID: 'odd-worker' }, ['--max-old-space-size=384']);
}, 180_000);
afterAll(async () => {
  await Promise.all([api?.kill('SIGTERM'), worker?.kill('SIGTERM')]);
});

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}
/** A complete, well-formed PNG that declares width × height but carries a few bytes of data: a bomb. */
function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
/** A JPEG whose frame header (SOF0) is rewritten to declare height × width. */
async function jpegBomb(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } })
      .jpeg({ progressive: false })
      .toBuffer(),
  );
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  jpeg.writeUInt16BE(height, sof + 5);
  jpeg.writeUInt16BE(width, sof + 7);
  return jpeg;
}

async function post(bytes: Buffer, name: string, type: string) {
  const form = new FormData();
  form.append('file', new File([new Uint8Array(bytes)], name, { type }));
  for (const [k, v] of Object.entries({ scale: '2', quality_level: 'fast', face: 'false' })) form.append(k, v);
  const res = await fetch(`${api.url}/api/v1/enhance`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as { task_id?: string; error?: { code: string } } };
}

describe('image bombs and odd files', () => {
  it('refuses bombs and truncated files before decoding; processes odd files under a memory bound', async () => {
    const backend = await connectScenario(env);
    const tasks = taskReader(backend);
    const before = (await backend.storage.list('')).length;
    const small = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a6' } });
    const [png, jpg, webp] = await Promise.all([
      small.clone().png().toBuffer(),
      small.clone().jpeg().toBuffer(),
      small.clone().webp().toBuffer(),
    ]);
    const bombs: [string, Buffer, string][] = [
      ['png-100000x100000.png', pngBomb(100_000, 100_000), 'image/png'],
      ['png-65535x65535.png', pngBomb(65_535, 65_535), 'image/png'],
      ['jpeg-65000x65000.jpg', await jpegBomb(65_000, 65_000), 'image/jpeg'],
      ['truncated.png', png.subarray(0, Math.floor(png.length / 2)), 'image/png'],
      ['truncated.jpg', jpg.subarray(0, Math.floor(jpg.length / 2)), 'image/jpeg'],
      ['truncated.webp', webp.subarray(0, Math.floor(webp.length / 2)), 'image/webp'],
      ['empty.png', Buffer.alloc(0), 'image/png'],
    ];
    const refused: string[] = [];
    for (const [name, bytes, type] of bombs) {
      const r = await post(bytes, name, type);
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBeGreaterThanOrEqual(400);
      expect(r.status, name).toBeLessThan(500);
      refused.push(`${name} ${r.status} ${r.body.error?.code}`);
    }
    expect((await backend.storage.list('')).length).toBe(before);

    const rgba = await sharp({
      create: { width: 48, height: 48, channels: 4, background: { r: 9, g: 90, b: 200, alpha: 0.5 } },
    })
      .png({ palette: true })
      .toBuffer();
    const odd: [string, Buffer, string][] = [
      ['cmyk.jpg', await small.clone().toColourspace('cmyk').jpeg().toBuffer(), 'image/jpeg'],
      ['palette-trns.png', rgba, 'image/png'],
    ];
    const accepted: string[] = [];
    for (const [name, bytes, type] of odd) {
      const r = await post(bytes, name, type);
      if (r.status === 202 && r.body.task_id) accepted.push(r.body.task_id);
      else expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(422);
    }
    let maxRss = 0;
    const deadline = Date.now() + 240_000;
    let records = await Promise.all(accepted.map((id) => tasks.read(id)));
    while (Date.now() < deadline && !records.every((r) => r?.completedAt)) {
      maxRss = Math.max(maxRss, worker.rss());
      await sleep(100);
      records = await Promise.all(accepted.map((id) => tasks.read(id)));
    }
    maxRss = Math.max(maxRss, worker.rss());
    figure('image bombs refused by the API', refused.join('; '));
    figure(
      'odd files',
      records.map((r) => `${r?.input.filename} ${r?.status}${r?.error ? ` ${r.error.code}` : ''}`).join('; '),
    );
    figure('worker max RSS on odd files (--max-old-space-size=384)', `${Math.round(maxRss / 2 ** 20)} MiB`);
    backend.close();
    expect(worker.alive()).toBe(true);
    expect(maxRss).toBeLessThan(RSS_BOUND);
    for (const r of records) {
      expect(r?.completedAt, r?.input.filename).toBeTruthy();
      // Processed, or failed with a code that says why — never an unexplained crash.
      if (r?.status !== 'completed') expect(r?.error?.code).not.toBe('INTERNAL');
    }
  }, 400_000);
});
