import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ErrorCode, PhotoEnhanceError } from '@photoenhance/contracts';
import sharp from 'sharp';
import { expect } from 'vitest';
import type { PlanarImage } from '../src/planar.ts';

export function fixture(name: string): Buffer {
  return readFileSync(fileURLToPath(new URL(`./fixtures/images/${name}`, import.meta.url)));
}

export type Rgba = readonly [number, number, number, number?];

/** Interleaved 8-bit pixels from a per-pixel function (3 or 4 channels). */
export function pixels8(width: number, height: number, channels: 3 | 4, at: (x: number, y: number) => Rgba): Buffer {
  const buf = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = at(x, y);
      const i = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) buf[i + c] = px[c] ?? 255;
    }
  }
  return buf;
}

/** Four distinct quadrants so any rotation or flip is visible. */
export const QUADRANT_COLOURS = {
  topLeft: [230, 20, 20],
  topRight: [20, 230, 20],
  bottomLeft: [20, 20, 230],
  bottomRight: [230, 230, 20],
} as const;

export function quadrants(width: number, height: number): (x: number, y: number) => Rgba {
  return (x, y) => {
    const top = y < height / 2;
    const left = x < width / 2;
    const c = top
      ? left
        ? QUADRANT_COLOURS.topLeft
        : QUADRANT_COLOURS.topRight
      : left
        ? QUADRANT_COLOURS.bottomLeft
        : QUADRANT_COLOURS.bottomRight;
    return [c[0], c[1], c[2]];
  };
}

export function rawImage(width: number, height: number, channels: 3 | 4, at: (x: number, y: number) => Rgba) {
  return sharp(pixels8(width, height, channels, at), { raw: { width, height, channels } });
}

/** RGB (0–255) at pixel (x, y) of a planar [0, 1] image. */
export function planarPixel(img: PlanarImage, x: number, y: number): number[] {
  const n = img.width * img.height;
  const out: number[] = [];
  for (let c = 0; c < img.channels; c++) out.push(Math.round((img.data[c * n + y * img.width + x] as number) * 255));
  return out;
}

export function expectClose(actual: readonly number[], expected: readonly number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => {
    expect(Math.abs(v - (expected[i] as number)), `channel ${i}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
      tolerance,
    );
  });
}

export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<PhotoEnhanceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(PhotoEnhanceError);
  expect((err as PhotoEnhanceError).code).toBe(code);
  return err as PhotoEnhanceError;
}

export function expectCodeSync(fn: () => unknown, code: ErrorCode): PhotoEnhanceError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PhotoEnhanceError);
    expect((err as PhotoEnhanceError).code).toBe(code);
    return err as PhotoEnhanceError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/**
 * Minimal BMP writer (BITMAPINFOHEADER, or V4 with BI_BITFIELDS for 32-bit alpha) so tests control
 * row order, depth and the header fields a lying file would fake.
 */
export function writeBmp(opts: {
  width: number;
  height: number;
  bitsPerPixel: 24 | 32;
  topDown?: boolean;
  alpha?: boolean;
  at: (x: number, y: number) => Rgba;
}): Buffer {
  const { width, height, bitsPerPixel, topDown = false, alpha = false } = opts;
  const headerSize = alpha ? 108 : 40;
  const bytesPerPixel = bitsPerPixel / 8;
  const stride = Math.ceil((width * bytesPerPixel) / 4) * 4;
  const offset = 14 + headerSize;
  const buf = Buffer.alloc(offset + stride * height);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(headerSize, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(topDown ? -height : height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(bitsPerPixel, 28);
  buf.writeUInt32LE(alpha ? 3 : 0, 30); // BI_BITFIELDS : BI_RGB
  buf.writeUInt32LE(stride * height, 34);
  if (alpha) {
    buf.writeUInt32LE(0x00ff0000, 54);
    buf.writeUInt32LE(0x0000ff00, 58);
    buf.writeUInt32LE(0x000000ff, 62);
    buf.writeUInt32LE(0xff000000, 66);
    buf.write('BGRs', 70, 'latin1');
  }
  for (let row = 0; row < height; row++) {
    const y = topDown ? row : height - 1 - row;
    for (let x = 0; x < width; x++) {
      const [r, g, b, a = 255] = opts.at(x, y);
      const i = offset + row * stride + x * bytesPerPixel;
      buf[i] = b;
      buf[i + 1] = g;
      buf[i + 2] = r;
      if (bytesPerPixel === 4) buf[i + 3] = alpha ? a : 0;
    }
  }
  return buf;
}
