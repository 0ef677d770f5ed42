import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import {
  createEngine,
  createThreadedEngine,
  type Engine,
  type ProgressEvent,
  upscaleModelFor,
  upscaleVariantFor,
} from '@photoenhance/engine';
import { buildGfpganStandin, getModelEntry, modelDir } from '@photoenhance/models';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, identityRestorerBytes, solidRedRestorerBytes } from '../face/helpers.ts';

let engine: Engine;
let dir: string;
let identityPath: string;
let redPath: string;
let astronaut: Buffer;

/** A small photo-like image with detail everywhere (so upscaling has something to do). */
async function noisyImage(width: number, height: number, channels: 3 | 4 = 3): Promise<Buffer> {
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + ((i / channels) | 0) * 11) % 256;
  if (channels === 4) for (let p = 0; p < width * height; p++) data[p * 4 + 3] = p % width < width / 2 ? 0 : 255;
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}

function psnr(a: Buffer, b: Buffer): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += ((a[i] as number) - (b[i] as number)) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

beforeAll(async () => {
  engine = createEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: 1 }, allowModelPaths: true });
  dir = await mkdtemp(join(tmpdir(), 'engine-test-'));
  identityPath = join(dir, 'identity.onnx');
  redPath = join(dir, 'red.onnx');
  await writeFile(identityPath, identityRestorerBytes());
  await writeFile(redPath, solidRedRestorerBytes());
  astronaut = await readFile(join(FIXTURES, 'astronaut.jpg'));
});

afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('engine', () => {
  it.each([1, 2, 3, 4, 5.5, 8, 16])('produces exactly the requested scale %s', async (scale) => {
    const input = await noisyImage(12, 9);
    const result = await engine.enhance(input, { scale, quality: 'fast', face: { enabled: false } });
    const meta = await sharp(result.data).metadata();
    expect([meta.width, meta.height]).toEqual([Math.round(12 * scale), Math.round(9 * scale)]);
    expect([result.width, result.height]).toEqual([meta.width, meta.height]);
    expect(result.format).toBe('png');
    expect(result.models).toEqual(['realesrgan-x4fast@fp32']);
    expect(result.timings.upscale).toBeGreaterThan(0);
  });

  it('keeps the alpha channel, upscaled separately', async () => {
    const result = await engine.enhance(await noisyImage(16, 8, 4), {
      scale: 2,
      quality: 'fast',
      face: { enabled: false },
    });
    const { data, info } = await sharp(result.data).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    // Left half was transparent, right half opaque.
    expect(data[(4 * info.width + 1) * 4 + 3]).toBe(0);
    expect(data[(4 * info.width + info.width - 2) * 4 + 3]).toBe(255);
  });

  it('keeps greyscale images grey', async () => {
    const grey = await sharp(await noisyImage(16, 16))
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const result = await engine.enhance(grey, { scale: 2, quality: 'fast', face: { enabled: false } });
    const meta = await sharp(result.data).metadata();
    expect(meta.channels).toBe(1);
  });

  it('reports progress per tile, monotonic, ending at 1', async () => {
    const events: ProgressEvent[] = [];
    await engine.enhance(
      await noisyImage(40, 40),
      { scale: 2, quality: 'fast', tileSize: 16, face: { enabled: false } },
      { onProgress: (e) => events.push(e) },
    );
    const values = events.map((e) => e.progress);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] as number);
    expect(values.at(-1)).toBe(1);
    const tiles = events.filter((e) => e.stage === 'upscale' && e.total !== undefined);
    expect(tiles.at(-1)?.total).toBe(9);
    expect(new Set(tiles.map((e) => e.done)).size).toBe(9);
  });

  it('stops with CANCELLED when the signal fires mid-upscale', async () => {
    const controller = new AbortController();
    const run = engine.enhance(
      await noisyImage(48, 48),
      { scale: 4, quality: 'fast', tileSize: 16, face: { enabled: false } },
      {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.stage === 'upscale' && e.done === 1) controller.abort();
        },
      },
    );
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('detects faces and says plainly when no restorer is installed', async () => {
    const result = await engine.enhance(astronaut, { scale: 1, quality: 'fast', face: { model: 'gfpgan-1.4' } });
    expect(result.faces.detected).toBe(1);
    expect(result.faces.restored).toBe(0);
    expect(result.faces.notice).toMatch(/NOT restored/);
    expect(result.faces.notice).toMatch(/npm run models -- --with gfpgan-1.4/);
    expect(result.models).not.toContain('gfpgan-1.4');
    // Reported as missing, which does not make the engine unready (most installs have no restorer).
    expect(engine.readiness().models['gfpgan-1.4']).toBe('missing');
    expect(engine.readiness().ready).toBe(true);
  });

  it('with an identity restorer and no background upsampler, leaves the photo unchanged', async () => {
    const result = await engine.enhance(astronaut, {
      scale: 1,
      backgroundUpsampler: false,
      face: { model: identityPath },
      output: { format: 'png' },
    });
    expect(result.faces).toMatchObject({ detected: 1, restored: 1 });
    expect(result.models).toContain(identityPath);
    // Restorers are sessions of the one registry: readiness lists them (and close() releases them).
    expect(engine.readiness().models[identityPath]).toBe('ready');
    const original = await sharp(astronaut).raw().toBuffer();
    const output = await sharp(result.data).raw().toBuffer();
    expect(psnr(original, output)).toBeGreaterThan(40);
  });

  it('pastes the restored face onto the face and nowhere else', async () => {
    const result = await engine.enhance(astronaut, {
      scale: 2,
      quality: 'fast',
      face: { model: redPath },
      output: { format: 'png' },
    });
    expect(result.faces.restored).toBe(1);
    const { data, info } = await sharp(result.data).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) =>
      Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
    // Between the astronaut's eyes ((204,101) and (245,102.5) in the original, fixtures README; ×2 here): pure red.
    const [r, g, b] = at(225 * 2, 102 * 2);
    expect(r).toBeGreaterThan(240);
    expect(g).toBeLessThan(15);
    expect(b).toBeLessThan(15);
    // Far from the face (the flag in the top-left area): not red.
    const [r2, g2] = at(40, 40);
    expect((r2 as number) - (g2 as number)).toBeLessThan(100);
  });

  it('refuses bad options and unknown models with client errors', async () => {
    const input = await noisyImage(8, 8);
    await expect(engine.enhance(input, { scale: 17 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', status: 400 });
    await expect(
      engine.enhance(input, { upscaleModel: 'no-such-model', face: { enabled: false } }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(engine.enhance(astronaut, { scale: 1, face: { model: 'no-such-face-model' } })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
  });

  it('refuses an output over the pixel limit before decoding', async () => {
    const limited = createEngine({ runtime: { executionProviders: ['cpu'] }, limits: { maxOutputPixels: 1000 } });
    const err = await limited.enhance(await noisyImage(20, 20), { scale: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhotoEnhanceError);
    expect((err as PhotoEnhanceError).code).toBe('OUTPUT_TOO_LARGE');
    await limited.close();
  });

  it('refuses undecodable input with a typed error', async () => {
    await expect(engine.enhance(Buffer.from('not an image at all'))).rejects.toMatchObject({
      code: 'UNSUPPORTED_FORMAT',
    });
    await expect(engine.enhance(Buffer.alloc(0))).rejects.toMatchObject({ code: 'EMPTY_FILE' });
  });
});

describe('upscaleModelFor', () => {
  it('maps quality levels to models by hardware', () => {
    expect(upscaleModelFor({ quality: 'fast' }, 'cuda', 1e6)).toBe('realesrgan-x4fast');
    expect(upscaleModelFor({ quality: 'high' }, 'cpu', 1e6)).toBe('realesrgan-x4plus');
    expect(upscaleModelFor({ quality: 'auto' }, 'cpu', 1e6)).toBe('realesrgan-x4fast');
    expect(upscaleModelFor({ quality: 'auto' }, 'cuda', 1e6)).toBe('realesrgan-x4plus');
    expect(upscaleModelFor({ quality: 'medium' }, 'cpu', 256 * 256)).toBe('realesrgan-x4plus');
    expect(upscaleModelFor({ quality: 'medium' }, 'cpu', 1e6)).toBe('realesrgan-x4fast');
    expect(upscaleModelFor({ quality: 'fast', upscaleModel: 'realesrgan-x4plus' }, 'cpu', 1)).toBe('realesrgan-x4plus');
  });
});

describe('upscaleVariantFor', () => {
  // the verdicts come from the manifest: int8 is offered only where its fidelity floor passed
  const shipsInt8 = (id: string) => getModelEntry(id).variants.int8?.fidelity.passed === true;

  it('auto: int8 on CPU where it passed the floor, fp16 on GPU providers, fp32 otherwise', () => {
    for (const id of ['realesrgan-x4fast', 'realesrgan-x4plus']) {
      expect(upscaleVariantFor(id, 'auto', 'cpu')).toBe(shipsInt8(id) ? 'int8' : 'fp32');
      expect(upscaleVariantFor(id, 'auto', 'cuda')).toBe('fp16');
      expect(upscaleVariantFor(id, 'fp32', 'cuda')).toBe('fp32');
    }
    // a model with only an fp32 file (BlazeFace here; custom upscalers alike) stays fp32 everywhere
    expect(upscaleVariantFor('blazeface-back', 'auto', 'cuda')).toBe('fp32');
  });

  it('refuses an explicit precision the model does not ship, saying why', () => {
    expect(() => upscaleVariantFor('blazeface-back', 'fp16', 'cpu')).toThrow(/no fp16 variant/);
    for (const id of ['realesrgan-x4fast', 'realesrgan-x4plus'].filter((m) => !shipsInt8(m))) {
      expect(() => upscaleVariantFor(id, 'int8', 'cpu')).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringMatching(/failed the fidelity floor/),
        }),
      );
    }
    expect(() => upscaleVariantFor('no-such-model', 'auto', 'cpu')).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('names the variant it ran in the result, and refuses an unshipped int8 request as a client error', async () => {
    const input = await noisyImage(12, 9);
    const result = await engine.enhance(input, { quality: 'fast', precision: 'fp32', face: { enabled: false } });
    expect(result.models).toEqual(['realesrgan-x4fast@fp32']);
    if (!shipsInt8('realesrgan-x4fast')) {
      await expect(
        engine.enhance(input, { quality: 'fast', precision: 'int8', face: { enabled: false } }),
      ).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    }
  });
});

describe('createThreadedEngine', () => {
  it('gives the same result as the in-process engine, keeps the event loop free, and cancels', async () => {
    const threaded = createThreadedEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: 1 } });
    try {
      await threaded.warmUp({ quality: 'fast', face: { enabled: false } });
      expect(threaded.readiness().ready).toBe(true);
      const input = await noisyImage(64, 64);
      const options = { scale: 2, quality: 'fast', tileSize: 32, face: { enabled: false } } as const;
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const events: ProgressEvent[] = [];
      const result = await threaded.enhance(input, options, { onProgress: (e) => events.push(e) });
      clearInterval(timer);
      const direct = await engine.enhance(input, options);
      expect(Buffer.compare(result.data, direct.data)).toBe(0);
      expect(result.timings.upscale).toBeGreaterThan(0);
      expect(events.at(-1)?.progress).toBe(1);
      // The main thread kept running timers while the thread did the inference.
      expect(ticks).toBeGreaterThan(3);

      const controller = new AbortController();
      const run = threaded.enhance(
        await noisyImage(96, 96),
        { ...options, tileSize: 16 },
        {
          signal: controller.signal,
          onProgress: (e) => {
            if (e.stage === 'upscale' && e.done === 1) controller.abort();
          },
        },
      );
      await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
      await expect(threaded.enhance(Buffer.from('text'), options)).rejects.toBeInstanceOf(PhotoEnhanceError);
      await expect(threaded.enhance(Buffer.from('text'), options)).rejects.toMatchObject({
        code: 'UNSUPPORTED_FORMAT',
        status: 415,
      });
    } finally {
      await threaded.close();
    }
  });
});

describe('restorer sessions and MODEL_IDLE_SECONDS', () => {
  it('releases a restorer unused for modelIdleSeconds and opens it again on the next photo', async () => {
    const released: string[] = [];
    const idle = createEngine({
      runtime: { executionProviders: ['cpu'], intraOpThreads: 1 },
      allowModelPaths: true,
      modelIdleSeconds: 0.2,
      log: {
        info: (obj, msg) => {
          if (typeof msg === 'string' && msg.startsWith('restorer released'))
            released.push((obj as { model: string }).model);
        },
        warn: () => undefined,
      },
    });
    try {
      const options = { scale: 1, backgroundUpsampler: false, face: { model: identityPath } } as const;
      expect((await idle.enhance(astronaut, options)).faces.restored).toBe(1);
      expect(released).toEqual([]); // just used: kept
      await new Promise((r) => setTimeout(r, 600));
      expect(released).toEqual([identityPath]);
      expect((await idle.enhance(astronaut, options)).faces.restored).toBe(1);
    } finally {
      await idle.close();
    }
  });
});

describe('constant-weight restorers (RESTORER_CONSTANT_WEIGHTS)', () => {
  it('opens a GFPGAN-form restorer from its constant-weight copy by default, and as exported when opted out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'engine-cw-'));
    // Two files with their own weights, so neither copy can already be in the cache from another test.
    const seed = Date.now() % 100_000;
    const copyOf = (bytes: Uint8Array, name: string) =>
      join(
        modelDir(),
        'derived',
        `${name}.${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.constant-weights.onnx`,
      );
    const exists = (path: string) =>
      access(path).then(
        () => true,
        () => false,
      );
    const options = (model: string) => ({ scale: 1, backgroundUpsampler: false, face: { model } }) as const;
    const optedOutBytes = buildGfpganStandin({ narrow: 1 / 32, seed }).onnx;
    const defaultBytes = buildGfpganStandin({ narrow: 1 / 32, seed: seed + 1 }).onnx;
    const optedOut = join(dir, 'opted-out.onnx');
    const byDefault = join(dir, 'by-default.onnx');
    await writeFile(optedOut, optedOutBytes);
    await writeFile(byDefault, defaultBytes);
    const runtime = { executionProviders: ['cpu'], intraOpThreads: 1 };
    const plain = createEngine({ runtime, allowModelPaths: true, constantWeightRestorers: false });
    const rewritten = createEngine({ runtime, allowModelPaths: true });
    try {
      expect((await plain.enhance(astronaut, options(optedOut))).faces.restored).toBe(1);
      expect(await exists(copyOf(optedOutBytes, 'opted-out'))).toBe(false);
      expect((await rewritten.enhance(astronaut, options(byDefault))).faces.restored).toBe(1);
      expect(await exists(copyOf(defaultBytes, 'by-default'))).toBe(true);
    } finally {
      await plain.close();
      await rewritten.close();
      await rm(copyOf(defaultBytes, 'by-default'), { force: true });
      await rm(`${copyOf(defaultBytes, 'by-default')}.json`, { force: true });
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
