import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.ts';
import { downloadVerified } from '../src/download.ts';

const GOOD = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
const GOOD_SHA = createHash('sha256').update(GOOD).digest('hex');
const CORRUPT = Buffer.from(GOOD).fill(0, 1000, 2000);

let server: Server;
let base: string;
let requests = 0;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    if (req.url === '/good') return void res.writeHead(200, { 'content-length': GOOD.length }).end(GOOD);
    if (req.url === '/corrupt') return void res.writeHead(200, { 'content-length': CORRUPT.length }).end(CORRUPT);
    if (req.url === '/truncated') {
      // announce the full size, send half, then drop the connection
      res.writeHead(200, { 'content-length': GOOD.length });
      res.write(GOOD.subarray(0, GOOD.length / 2), () => res.destroy());
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pe-models-dl-'));
  requests = 0;
  return () => rm(dir, { recursive: true, force: true });
});

const leftovers = async () => (await readdir(dir)).filter((f) => f !== 'ok.onnx');

describe('verified downloads', () => {
  it('stores a file whose sha256 matches, reporting progress', async () => {
    const lines: string[] = [];
    const dest = join(dir, 'ok.onnx');
    const result = await downloadVerified(`${base}/good`, dest, {
      sha256: GOOD_SHA,
      bytes: GOOD.length,
      log: (m) => lines.push(m),
      label: 'm',
    });
    expect(result).toEqual({ sha256: GOOD_SHA, bytes: GOOD.length });
    expect((await readFile(dest)).equals(GOOD)).toBe(true);
    expect(lines.at(-1)).toMatch(/m: 0\.3 MB downloaded, sha256 verified/);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses and removes a corrupt download', async () => {
    const dest = join(dir, 'model.onnx');
    await expect(downloadVerified(`${base}/corrupt`, dest, { sha256: GOOD_SHA })).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringMatching(/does not match the expected.*discarded/),
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses and removes a truncated download', async () => {
    const dest = join(dir, 'model.onnx');
    // a cut connection is worth retrying (MODEL_NOT_READY), but nothing may stay on disk
    await expect(downloadVerified(`${base}/truncated`, dest, { sha256: GOOD_SHA, label: 'm' })).rejects.toMatchObject({
      code: 'MODEL_NOT_READY',
      message: expect.stringMatching(/^m: download from .*\/truncated failed/),
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports HTTP errors as not ready', async () => {
    await expect(downloadVerified(`${base}/missing`, join(dir, 'x.onnx'), { sha256: GOOD_SHA })).rejects.toMatchObject({
      code: 'MODEL_NOT_READY',
      message: expect.stringContaining('HTTP 404'),
    });
  });

  it('without a pinned sha256, refuses before downloading unless trusted', async () => {
    const dest = join(dir, 'model.onnx');
    await expect(downloadVerified(`${base}/good`, dest, { sha256: null })).rejects.toThrow(/--trust-unverified/);
    expect(requests).toBe(0);
    await expect(
      downloadVerified(`${base}/good`, dest, { sha256: null, trustUnverified: true }),
    ).resolves.toMatchObject({ sha256: GOOD_SHA });
  });
});

describe('npm run models -- --with', () => {
  it('exits 1 with a clear error and leaves no file when the download is corrupt', async () => {
    const saved = process.env.PHOTOENHANCE_MODEL_DIR;
    process.env.PHOTOENHANCE_MODEL_DIR = dir;
    try {
      const out: string[] = [];
      const err: string[] = [];
      let requested = '';
      // the manifest's GitHub URL is answered by the local server with the wrong bytes
      const fetchFromLocal: typeof fetch = (input, init) => {
        requested = String(input);
        return fetch(`${base}/corrupt`, init);
      };
      const code = await runCli(['--only', 'blazeface-back', '--with', 'gfpgan-1.4'], {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
        fetch: fetchFromLocal,
      });
      expect(code).toBe(1);
      expect(requested).toBe(
        'https://github.com/clibdev/GFPGAN-onnxruntime-demo/releases/latest/download/gfpgan-v1.4.onnx',
      );
      expect(err.join('\n')).toMatch(/error: gfpgan-1\.4: sha256 [0-9a-f]{64} does not match the expected 497ff5b6/);
      expect(existsSync(join(dir, 'gfpgan-1.4.onnx'))).toBe(false);
      expect((await readdir(dir)).filter((f) => f.includes('gfpgan'))).toEqual([]);
      expect(existsSync(join(dir, 'blazeface-back.onnx'))).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.PHOTOENHANCE_MODEL_DIR;
      else process.env.PHOTOENHANCE_MODEL_DIR = saved;
    }
  });

  it('rejects usage errors with exit code 2', async () => {
    const err: string[] = [];
    expect(await runCli(['--bogus'], { out: () => {}, err: (t) => err.push(t) })).toBe(2);
    expect(err.join('\n')).toMatch(/--help/);
    expect(await runCli(['--model', 'x.onnx'], { out: () => {}, err: (t) => err.push(t) })).toBe(2);
    expect(err.join('\n')).toMatch(/--model needs --id/);
  });

  it('prints help that documents every option', async () => {
    const out: string[] = [];
    expect(await runCli(['--help'], { out: (t) => out.push(t), err: () => {} })).toBe(0);
    const help = out.join('\n');
    for (const flag of [
      '--with',
      '--trust-unverified',
      '--only',
      '--model',
      '--id',
      '--task',
      '--list',
      'PHOTOENHANCE_MODEL_DIR',
      'gfpgan-1.4',
      'NON-COMMERCIAL',
    ]) {
      expect(help).toContain(flag);
    }
  });
});
