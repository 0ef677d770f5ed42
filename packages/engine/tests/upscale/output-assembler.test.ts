import { type InterleavedImage, type PlanarImage, resizePlanar } from '@photoenhance/image';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSession } from '../../src/runtime/model-session.ts';
import { axisBlock, axisMap } from '../../src/upscale/band-resize.ts';
import { createOutputAssembler } from '../../src/upscale/output-assembler.ts';
import { planUpscale, upscaleImage, upscaleTiles } from '../../src/upscale/upscaler.ts';
import { smoothImage, testSession } from './test-models.ts';

const MODEL_SCALE = 4;

/** The reference: the whole ×4 result held, resized once with libvips, rounded to 8 bits. */
function toEightBit(img: PlanarImage): Uint8Array {
  const pixels = img.width * img.height;
  const out = new Uint8Array(pixels * 3);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < pixels; i++) {
      const v = img.data[c * pixels + i]!;
      out[i * 3 + c] = v >= 1 ? 255 : v > 0 ? Math.round(v * 255) : 0;
    }
  return out;
}

function psnr(squaredError: number, count: number): number {
  return squaredError === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255 * count) / squaredError);
}

/** PSNR over the whole image and the lowest PSNR of any 64×64 window (stride 32, clipped at the edges). */
function compare(a: Uint8Array, b: Uint8Array, width: number, height: number) {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += (a[i]! - b[i]!) ** 2;
  let worst = Number.POSITIVE_INFINITY;
  for (let y0 = 0; y0 < height; y0 += 32)
    for (let x0 = 0; x0 < width; x0 += 32) {
      let sum = 0;
      let count = 0;
      for (let y = y0; y < Math.min(height, y0 + 64); y++)
        for (let x = x0; x < Math.min(width, x0 + 64); x++)
          for (let c = 0; c < 3; c++) {
            const i = (y * width + x) * 3 + c;
            sum += (a[i]! - b[i]!) ** 2;
            count++;
          }
      worst = Math.min(worst, psnr(sum, count));
    }
  return { whole: psnr(total, a.length), worst };
}

describe('band-wise resize of the ×4 result (output assembler)', () => {
  let model: ModelSession;
  beforeAll(async () => {
    // Nearest ×4 + convs: hard edges at every input pixel, the worst case for a resize seam.
    model = await testSession({ inputConvs: 2 });
  });

  it.each([
    // width, height, tile size, scale: odd sizes, several tile rows and columns, every kind of ratio.
    [75, 61, 24, 1],
    [75, 61, 24, 1.5],
    [76, 62, 24, 1.5],
    [75, 61, 24, 2],
    [75, 61, 24, 3],
    [75, 61, 24, 4],
    [37, 29, 16, 8],
    [33, 70, 20, 2.5],
  ])('%i×%i in %i px tiles at ×%f equals one whole-image Lanczos resize', async (width, height, tileSize, scale) => {
    const image = smoothImage(width, height, 3);
    const options = { tileSize, tilePad: 6 };
    const outWidth = Math.round(width * scale);
    const outHeight = Math.round(height * scale);
    const whole = await upscaleImage(model, image, MODEL_SCALE, options);
    const reference = toEightBit(await resizePlanar(whole, outWidth, outHeight));

    const tiles = planUpscale(width, height, options);
    expect(new Set(tiles.map((t) => t.row)).size).toBeGreaterThan(1);
    expect(new Set(tiles.map((t) => t.column)).size).toBeGreaterThan(1);
    const out: InterleavedImage = {
      width: outWidth,
      height: outHeight,
      channels: 3,
      bitDepth: 8,
      data: new Uint8Array(outWidth * outHeight * 3),
    };
    const assembler = createOutputAssembler({
      sourceWidth: width,
      sourceHeight: height,
      modelScale: MODEL_SCALE,
      tiles,
      out,
    });
    await upscaleTiles(model, image, MODEL_SCALE, options, (data, offset, tile) => assembler.add(data, offset, tile));
    assembler.finish();

    const { whole: all, worst } = compare(reference, out.data as Uint8Array, outWidth, outHeight);
    expect(all).toBeGreaterThanOrEqual(50);
    expect(worst).toBeGreaterThanOrEqual(45);
  });

  it('keeps the whole 16-bit range and a fourth channel untouched', async () => {
    const image = smoothImage(40, 30, 5);
    const options = { tileSize: 16, tilePad: 4 };
    const out: InterleavedImage = {
      width: 80,
      height: 60,
      channels: 4,
      bitDepth: 16,
      data: new Uint16Array(80 * 60 * 4).fill(1234),
    };
    const assembler = createOutputAssembler({
      sourceWidth: 40,
      sourceHeight: 30,
      modelScale: MODEL_SCALE,
      tiles: planUpscale(40, 30, options),
      out,
    });
    await upscaleTiles(model, image, MODEL_SCALE, options, (data, offset, tile) => assembler.add(data, offset, tile));
    assembler.finish();
    const whole = await resizePlanar(await upscaleImage(model, image, MODEL_SCALE, options), 80, 60);
    let maxError = 0;
    for (let i = 0; i < 80 * 60; i++) {
      expect(out.data[i * 4 + 3]).toBe(1234);
      for (let c = 0; c < 3; c++)
        maxError = Math.max(maxError, Math.abs(out.data[i * 4 + c]! / 65535 - whole.data[c * 80 * 60 + i]!));
    }
    // 16-bit output: far finer than one 8-bit step.
    expect(maxError).toBeLessThan(1 / 255 / 4);
  });
});

describe('axis blocks', () => {
  it('align to the period of the ratio and cover the range with margin', () => {
    const map = axisMap(4 * 76, 114); // ×1.5 of 76 px: 8 in, 3 out
    expect([map.periodIn, map.periodOut]).toEqual([8, 3]);
    const block = axisBlock(map, 40, 100);
    expect(block.inStart % 8).toBe(0);
    expect(block.inStart).toBeLessThanOrEqual(40 - map.margin);
    expect(block.inEnd).toBeGreaterThanOrEqual(100 + map.margin);
    expect((block.outEnd - block.outStart) * 8).toBe((block.inEnd - block.inStart) * 3);
  });

  it('spans the whole axis when the ratio has no shorter period', () => {
    const map = axisMap(4 * 75, 113); // ×1.5 of 75 px rounds to 113: 300/113 in lowest terms
    expect(axisBlock(map, 40, 100)).toEqual({ inStart: 0, inEnd: 300, outStart: 0, outEnd: 113 });
  });
});
