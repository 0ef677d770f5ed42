import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { PlanarImage } from '../src/planar.ts';
import { resizePlanar } from '../src/resize.ts';
import { expectCode } from './helpers.ts';

function planes(width: number, height: number, fns: ((x: number, y: number) => number)[]): PlanarImage {
  const n = width * height;
  const data = new Float32Array(n * fns.length);
  fns.forEach((fn, c) => {
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[c * n + y * width + x] = fn(x, y);
  });
  return { width, height, channels: fns.length, data };
}

const at = (img: PlanarImage, c: number, x: number, y: number): number =>
  img.data[c * img.width * img.height + y * img.width + x]!;

describe('resizePlanar', () => {
  it('resizes each plane independently to the exact size', async () => {
    const img = planes(20, 10, [() => 0.2, () => 0.8, () => 0.5]);
    const out = await resizePlanar(img, 37, 19);
    expect(out).toMatchObject({ width: 37, height: 19, channels: 3 });
    expect(out.data.length).toBe(37 * 19 * 3);
    for (const [c, v] of [
      [0, 0.2],
      [1, 0.8],
      [2, 0.5],
    ] as const) {
      for (const [x, y] of [
        [0, 0],
        [18, 9],
        [36, 18],
      ] as const)
        expect(at(out, c, x, y)).toBeCloseTo(v, 4);
    }
  });

  it('keeps precision finer than 8 bits (no quantisation before the resize)', async () => {
    // A gentle ramp: Lanczos reproduces linear functions, so the interior must follow the ramp
    // to ~16-bit precision. 8-bit quantisation would leave errors up to 1/510 ≈ 0.002.
    const w = 64;
    const ramp = (x: number) => 0.3 + x * 0.0007;
    const img = planes(w, 4, [ramp]);
    const out = await resizePlanar(img, w * 4, 16);
    let worst = 0;
    for (let X = 24; X < w * 4 - 24; X++) {
      const srcX = (X + 0.5) / 4 - 0.5; // centre-aligned mapping, as libvips uses
      worst = Math.max(worst, Math.abs(at(out, 0, X, 8) - ramp(srcX)));
    }
    expect(worst).toBeLessThan(1 / 4096);
    // And the values are genuinely not on the 8-bit grid.
    const offGrid = Array.from({ length: 50 }, (_, i) => at(out, 0, 40 + i, 8)).filter(
      (v) => Math.abs(v * 255 - Math.round(v * 255)) > 0.05,
    );
    expect(offGrid.length).toBeGreaterThan(25);
  });

  it('matches sharp’s own Lanczos resize of the same picture', async () => {
    const w = 24;
    const h = 16;
    const fn = (x: number, y: number) => ((x * 37 + y * 91) % 256) / 255;
    const out = await resizePlanar(planes(w, h, [fn]), 60, 40, 'lanczos3');
    const u8 = Buffer.alloc(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) u8[y * w + x] = Math.round(fn(x, y) * 255);
    const ref = await sharp(u8, { raw: { width: w, height: h, channels: 1 } })
      .resize(60, 40, { kernel: 'lanczos3', fit: 'fill' })
      .toColourspace('b-w')
      .raw()
      .toBuffer();
    let worst = 0;
    for (let i = 0; i < 60 * 40; i++) worst = Math.max(worst, Math.abs(out.data[i]! * 255 - ref[i]!));
    expect(worst).toBeLessThanOrEqual(1.5);
  });

  it('downscales and clamps kernel ringing to [0, 1]', async () => {
    const edge = planes(40, 40, [(x) => (x < 20 ? 0 : 1)]);
    const up = await resizePlanar(edge, 100, 100);
    let min = 1;
    let max = 0;
    for (const v of up.data) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    const down = await resizePlanar(edge, 10, 10, 'mitchell');
    expect(at(down, 0, 1, 5)).toBeCloseTo(0, 3);
    expect(at(down, 0, 8, 5)).toBeCloseTo(1, 3);
  });

  it('same size returns a copy, bad sizes are refused', async () => {
    const img = planes(4, 4, [() => 0.25]);
    const same = await resizePlanar(img, 4, 4);
    expect(same.data).not.toBe(img.data);
    expect(Array.from(same.data)).toEqual(Array.from(img.data));
    await expectCode(resizePlanar(img, 0, 4), 'INTERNAL');
    await expectCode(resizePlanar(img, 2.5, 4), 'INTERNAL');
  });
});
