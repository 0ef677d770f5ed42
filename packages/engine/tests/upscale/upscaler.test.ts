import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { PlanarImage } from '@photoenhance/image';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSession } from '../../src/runtime/model-session.ts';
import { planTiles } from '../../src/upscale/tile-plan.ts';
import { upscaleImage } from '../../src/upscale/upscaler.ts';
import { bareRun, columnSeamRatio, interiorMaxDiff, smoothImage, testSession, transpose } from './test-models.ts';

const SCALE = 4;

/** Builds the reflect-padded image by explicit mirroring (independent of the code under test). */
function reflectPadded(image: PlanarImage, pad: number): PlanarImage {
  const mirror = (i: number, n: number) => {
    if (n === 1) return 0;
    let v = i;
    while (v < 0 || v >= n) v = v < 0 ? -v : 2 * (n - 1) - v;
    return v;
  };
  const width = image.width + 2 * pad;
  const height = image.height + 2 * pad;
  const data = new Float32Array(width * height * 3);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        data[c * width * height + y * width + x] =
          image.data[
            c * image.width * image.height + mirror(y - pad, image.height) * image.width + mirror(x - pad, image.width)
          ]!;
  return { width, height, channels: 3, data };
}

function crop(
  data: Float32Array,
  width: number,
  height: number,
  x: number,
  y: number,
  w: number,
  h: number,
): Float32Array {
  const out = new Float32Array(w * h * 3);
  for (let c = 0; c < 3; c++)
    for (let r = 0; r < h; r++)
      out.set(
        data.subarray(c * width * height + (y + r) * width + x, c * width * height + (y + r) * width + x + w),
        (c * h + r) * w,
      );
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('upscaleImage with a ×4 nearest + 3×3 conv model', () => {
  let model: ModelSession;
  beforeAll(async () => {
    model = await testSession({ inputConvs: 2 });
  });

  it.each([
    [75, 101, 32],
    [96, 80, 40],
    [1, 1, 32],
    [3, 80, 32],
    [80, 2, 32],
  ])('%i×%i tiled by %i equals one run on the reflect-padded image', async (w, h, tile) => {
    const image = smoothImage(w, h);
    const pad = 10;
    const tiled = await upscaleImage(model, image, SCALE, { tileSize: tile, tilePad: pad });
    expect([tiled.width, tiled.height, tiled.channels]).toEqual([w * SCALE, h * SCALE, 3]);
    const padded = reflectPadded(image, pad);
    const reference = crop(
      await bareRun(model, padded),
      padded.width * SCALE,
      padded.height * SCALE,
      pad * SCALE,
      pad * SCALE,
      w * SCALE,
      h * SCALE,
    );
    // pad 10 ≫ the model's 3-pixel receptive field: tiles see everything they need.
    expect(maxDiff(tiled.data, reference)).toBeLessThan(1e-5);
  });

  it('matches a bare untiled run away from the border (where zero and reflect padding differ)', async () => {
    const image = smoothImage(96, 80);
    const tiled = await upscaleImage(model, image, SCALE, { tileSize: 32, tilePad: 10 });
    const bare = await bareRun(model, image);
    expect(interiorMaxDiff(tiled.data, bare, tiled.width, tiled.height, 4 * SCALE)).toBeLessThan(1e-5);
    // …and the border does differ: reflect padding is really applied.
    expect(maxDiff(tiled.data, bare)).toBeGreaterThan(1e-3);
  });

  it('treats tileSize 0 as one whole-image tile when it fits the cap, and tiles when it does not', async () => {
    const image = smoothImage(70, 50);
    const whole = await upscaleImage(model, image, SCALE, { tileSize: 0, tilePad: 10 });
    const progress: number[] = [];
    const capped = await upscaleImage(model, image, SCALE, {
      tileSize: 0,
      tilePad: 10,
      maxTilePixels: 32 * 32,
      onProgress: (_d, t) => progress.push(t),
    });
    expect(progress[0]).toBe(planTiles(70, 50, 32, 10).length);
    expect(maxDiff(whole.data, capped.data)).toBeLessThan(1e-5);
  });

  it('clamps the output to [0, 1] though the model overshoots', async () => {
    const image = smoothImage(72, 72);
    for (let i = 0; i < image.data.length; i++) image.data[i] = (i >> 2) % 2; // hard 0/1 stripes
    const raw = await model.session.run({ input: new ort.Tensor('float32', image.data, [1, 3, 72, 72]) });
    const rawData = raw.output!.data as Float32Array;
    expect(rawData.some((v) => v < 0 || v > 1)).toBe(true);
    const out = await upscaleImage(model, image, SCALE, { tileSize: 32, tilePad: 4 });
    expect(out.data.every((v) => v >= 0 && v <= 1)).toBe(true);
  });
});

describe('seams', () => {
  const image = smoothImage(128, 96);
  const tile = 32;
  // Core boundaries (input px) → output columns/rows where a seam would sit.
  const columnSeams = [32, 64, 96].map((x) => x * SCALE);
  const rowSeams = [32, 64].map((y) => y * SCALE);

  it('shows no seam line when tiles get context and are cross-faded', async () => {
    // Receptive field 7 input px: a pad at least that wide gives every weighted pixel full context.
    const wide = await testSession({ inputConvs: 6, seed: 3 });
    const bare = await bareRun(wide, image);
    for (const tilePad of [8, 10]) {
      const out = await upscaleImage(wide, image, SCALE, { tileSize: tile, tilePad });
      expect(columnSeamRatio(out, columnSeams, SCALE)).toBeLessThan(1.1);
      expect(columnSeamRatio(transpose(out), rowSeams, SCALE)).toBeLessThan(1.1);
      expect(interiorMaxDiff(out.data, bare, out.width, out.height, 10 * SCALE)).toBeLessThan(0.01);
    }
  });

  it('the detector does flag the seams of tiles cut without context (tilePad 0)', async () => {
    const wide = await testSession({ inputConvs: 6, seed: 3 });
    const out = await upscaleImage(wide, image, SCALE, { tileSize: tile, tilePad: 0 });
    expect(columnSeamRatio(out, columnSeams, SCALE)).toBeGreaterThan(2);
    expect(columnSeamRatio(transpose(out), rowSeams, SCALE)).toBeGreaterThan(2);
  });
});

describe('batching, progress and cancellation', () => {
  let model: ModelSession;
  beforeAll(async () => {
    model = await testSession({ inputConvs: 2 });
  });

  it('gives the same pixels with several tiles per run, including a short last batch', async () => {
    const image = smoothImage(96, 88);
    const runs: number[] = [];
    const one = await upscaleImage(model, image, SCALE, { tileSize: 32, tilePad: 6 });
    const batched = await upscaleImage(model, image, SCALE, {
      tileSize: 32,
      tilePad: 6,
      batchTiles: 4,
      onProgress: (d) => runs.push(d),
    });
    expect(maxDiff(one.data, batched.data)).toBeLessThan(1e-5);
    expect(runs).toEqual([4, 8, 9]); // 3×3 tiles in batches of 4
  });

  it('falls back to one tile per run for a model with a fixed batch of 1', async () => {
    const fixed = await testSession({ inputConvs: 2, fixedBatch: 1 });
    const runs: number[] = [];
    await upscaleImage(fixed, smoothImage(60, 60), SCALE, {
      tileSize: 32,
      tilePad: 4,
      batchTiles: 4,
      onProgress: (d) => runs.push(d),
    });
    expect(runs).toEqual([1, 2, 3, 4]);
  });

  it('reports progress per tile, monotonic, ending at the total', async () => {
    const events: [number, number][] = [];
    await upscaleImage(model, smoothImage(75, 101), SCALE, {
      tileSize: 32,
      tilePad: 10,
      onProgress: (d, t) => events.push([d, t]),
    });
    const total = planTiles(75, 101, 32, 10).length;
    expect(events.length).toBe(total);
    events.forEach(([done, t], i) => {
      expect(t).toBe(total);
      expect(done).toBe(i + 1);
    });
  });

  it('stops between runs with CANCELLED when the signal fires', async () => {
    const controller = new AbortController();
    let seen = 0;
    const run = upscaleImage(model, smoothImage(128, 128), SCALE, {
      tileSize: 32,
      tilePad: 4,
      signal: controller.signal,
      onProgress: (done) => {
        seen = done;
        if (done === 3) controller.abort(new Error('user cancelled'));
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED', status: 499 });
    expect(seen).toBe(3);
  });

  it('refuses an already-aborted signal before any run', async () => {
    let runs = 0;
    const signal = AbortSignal.abort();
    await expect(
      upscaleImage(model, smoothImage(16, 16), SCALE, { tileSize: 8, tilePad: 2, signal, onProgress: () => runs++ }),
    ).rejects.toBeInstanceOf(PhotoEnhanceError);
    expect(runs).toBe(0);
  });
});

describe('contract errors', () => {
  it('names a model whose output is not ×scale (MODEL_INVALID)', async () => {
    const x2 = await testSession({ scale: 2 }, 'x2-model');
    await expect(upscaleImage(x2, smoothImage(16, 16), SCALE, { tileSize: 0, tilePad: 2 })).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('x2-model'),
    });
  });

  it('rejects an image that is not 3 planes (INVALID_INPUT)', async () => {
    const model = await testSession();
    const grey = { width: 8, height: 8, channels: 1, data: new Float32Array(64) };
    await expect(upscaleImage(model, grey, SCALE, { tileSize: 0, tilePad: 2 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });
});
