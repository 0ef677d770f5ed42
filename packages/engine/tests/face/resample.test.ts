import { describe, expect, it } from 'vitest';
import { resizeRegion } from '../../src/face/pixels.ts';
import { resizePlanarLanczos3 } from '../../src/face/resample.ts';

function planar(width: number, height: number, value: (x: number, y: number, c: number) => number): Float32Array {
  const n = width * height;
  const data = new Float32Array(n * 3);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[c * n + y * width + x] = value(x, y, c);
  return data;
}

describe('resizePlanarLanczos3', () => {
  it('keeps a flat image flat, to float precision (weights sum to one, edges included)', () => {
    const out = resizePlanarLanczos3(
      planar(64, 48, (_x, _y, c) => 0.2 + 0.3 * c),
      64,
      48,
      23,
      17,
    );
    const m = 23 * 17;
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < m; i++) expect(Math.abs(out[c * m + i]! - (0.2 + 0.3 * c))).toBeLessThan(1e-6);
  });

  it('puts each output pixel where its centre maps: a ramp shrinks to the ramp at the mapped centres', () => {
    const sw = 120;
    const dw = 50;
    const out = resizePlanarLanczos3(
      planar(sw, 8, (x) => (x + 0.5) / sw),
      sw,
      8,
      dw,
      4,
    );
    // Away from the edges (where the kernel is folded) a linear ramp is reproduced to within float32
    // weights and the kernel's slight asymmetry at fractional phases: ≈ 0.001 source px.
    for (let x = 4; x < dw - 4; x++) expect(Math.abs(out[dw + x]! * sw - ((x + 0.5) * sw) / dw)).toBeLessThan(0.01);
  });

  it('filters before decimating: a 1-px checkerboard shrinks to flat grey, not moiré', () => {
    const out = resizePlanarLanczos3(
      planar(256, 256, (x, y) => ((x + y) % 2 === 0 ? 1 : 0)),
      256,
      256,
      100,
      100,
    );
    for (let y = 5; y < 95; y++) for (let x = 5; x < 95; x++) expect(out[y * 100 + x]!).toBeCloseTo(0.5, 1);
  });

  it('agrees with the sharp (libvips) Lanczos-3 16-bit resize it replaces', async () => {
    const sw = 160;
    const sh = 120;
    // Shading with detail near the output's Nyquist, kept inside (0, 1) so neither side clips.
    const src = planar(sw, sh, (x, y, c) => 0.3 + 0.2 * Math.sin(x / 1.7 + c) * Math.cos(y / 2.3) + y / 1000);
    const out = resizePlanarLanczos3(src, sw, sh, 64, 48);
    const region = { left: 0, top: 0, width: sw, height: sh };
    const ref = (await resizeRegion({ width: sw, height: sh, channels: 3, data: src }, region, 64, 48)).data;
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(out[i]! - ref[i]!));
    // libvips' 16-bit fixed-point weights lose ≈ 0.2 % of the gain; the filters are the same.
    expect(worst).toBeLessThan(0.003);
  });

  it('clamps the ringing of hard edges to [0, 1], as an image resize would', () => {
    const out = resizePlanarLanczos3(
      planar(90, 90, (x, y) => (x > 30 && x < 60 && y > 30 && y < 60 ? 1 : 0)),
      90,
      90,
      40,
      40,
    );
    expect(Math.min(...out)).toBe(0);
    expect(Math.max(...out)).toBe(1);
  });
});
