import type { PlanarImage } from '@photoenhance/image';
import { describe, expect, it } from 'vitest';
import { copyWindow, reflectIndex } from '../../src/upscale/window.ts';

/** Reference reflect: mirror step by step until the coordinate lands inside. */
function naiveReflect(i: number, n: number): number {
  if (n === 1) return 0;
  let v = i;
  while (v < 0 || v >= n) v = v < 0 ? -v : 2 * (n - 1) - v;
  return v;
}

function image(width: number, height: number): PlanarImage {
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 1000) / 1000;
  return { width, height, channels: 3, data };
}

describe('reflectIndex', () => {
  it('mirrors without repeating the edge pixel (PyTorch reflect)', () => {
    expect([-3, -2, -1, 0, 4, 5, 6, 7].map((i) => reflectIndex(i, 5))).toEqual([3, 2, 1, 0, 4, 3, 2, 1]);
  });

  it('matches step-by-step mirroring far outside small images', () => {
    for (const n of [1, 2, 3, 7]) for (let i = -40; i < 40; i++) expect(reflectIndex(i, n)).toBe(naiveReflect(i, n));
  });
});

describe('copyWindow', () => {
  it.each([
    [37, 53, -10, -10, 36, 36],
    [37, 53, 20, 40, 36, 36],
    [5, 4, -10, -10, 25, 24],
    [1, 1, -10, -10, 21, 21],
    [64, 64, 8, 8, 16, 16],
  ])('%i×%i window at (%i,%i) size %i×%i equals per-pixel reflect sampling', (w, h, x, y, ww, wh) => {
    const src = image(w, h);
    const target = new Float32Array(3 * ww * wh + 5).fill(-1);
    copyWindow(src, x, y, ww, wh, target, 5);
    for (let c = 0; c < 3; c++)
      for (let r = 0; r < wh; r++)
        for (let j = 0; j < ww; j++) {
          const expected = src.data[c * w * h + naiveReflect(y + r, h) * w + naiveReflect(x + j, w)];
          expect(target[5 + (c * wh + r) * ww + j]).toBe(expected);
        }
    expect(target.subarray(0, 5).every((v) => v === -1)).toBe(true);
  });
});
