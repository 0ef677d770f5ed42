import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readExifOrientation, resetExifOrientation } from '../src/exif.ts';
import { sniffContainer } from '../src/formats.ts';
import { flattenPlanar, interleavedToPlanar, planarLuma, planarToInterleaved } from '../src/planar.ts';

describe('planar ⇄ interleaved', () => {
  it('round-trips 8-bit RGBA through planes', () => {
    const src = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 23) % 256);
    const rgb = interleavedToPlanar(src, 3, 2, 4, [0, 1, 2], 255);
    const alpha = interleavedToPlanar(src, 3, 2, 4, [3], 255);
    expect(rgb).toMatchObject({ width: 3, height: 2, channels: 3 });
    // Planar: all R first.
    expect(rgb.data[1]).toBeCloseTo(src[4]! / 255, 6);
    expect(rgb.data[6]).toBeCloseTo(src[1]! / 255, 6);
    const back = planarToInterleaved([rgb, alpha], new Uint8Array(src.length), 255);
    expect(Array.from(back)).toEqual(Array.from(src));
  });

  it('rounds to the nearest code value and clamps overshoot and NaN', () => {
    const plane = {
      width: 6,
      height: 1,
      channels: 1,
      data: Float32Array.from([0.5, 1.3, -0.1, Number.NaN, 0.999, 1 / 65535]),
    };
    expect(Array.from(planarToInterleaved([plane], new Uint8Array(6), 255))).toEqual([128, 255, 0, 0, 255, 0]);
    expect(Array.from(planarToInterleaved([plane], new Uint16Array(6), 65535))).toEqual([32768, 65535, 0, 0, 65469, 1]);
  });

  it('refuses an output buffer that is too small', () => {
    const plane = { width: 2, height: 2, channels: 3, data: new Float32Array(12) };
    expect(() => planarToInterleaved([plane], new Uint8Array(11), 255)).toThrow(RangeError);
  });

  it('luma and flatten', () => {
    const rgb = { width: 1, height: 1, channels: 3, data: Float32Array.from([1, 0.5, 0]) };
    expect(planarLuma(rgb).data[0]).toBeCloseTo(0.2126 + 0.7152 * 0.5, 5);
    const alpha = { width: 1, height: 1, channels: 1, data: Float32Array.from([0.25]) };
    expect(Array.from(flattenPlanar(rgb, alpha, [1, 1, 1]).data)).toEqual([1, 0.875, 0.75]);
  });
});

describe('EXIF orientation', () => {
  it('resets Orientation to 1 in a little-endian block from libvips, keeping other tags', async () => {
    const jpeg = await sharp({ create: { width: 4, height: 2, channels: 3, background: '#123' } })
      .withExif({ IFD0: { Make: 'TestCam' } })
      .withMetadata({ orientation: 8 })
      .jpeg()
      .toBuffer();
    const exif = (await sharp(jpeg).metadata()).exif!;
    expect(readExifOrientation(exif)).toBe(8);
    const reset = resetExifOrientation(exif)!;
    expect(readExifOrientation(reset)).toBe(1);
    expect(reset.length).toBe(exif.length);
    expect(reset.toString('latin1')).toContain('TestCam');
    expect(readExifOrientation(exif)).toBe(8); // the input is not modified
  });

  it('handles big-endian blocks and refuses ones it cannot walk', () => {
    // MM, IFD0 at 8, one entry: Orientation SHORT 1 value 6.
    const tiff = Buffer.from([
      0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(readExifOrientation(tiff)).toBe(6);
    expect(readExifOrientation(resetExifOrientation(tiff)!)).toBe(1);
    expect(resetExifOrientation(Buffer.from('Exif\0\0garbage!!', 'latin1'))).toBeUndefined();
    const truncated = Buffer.from(tiff.subarray(0, 12));
    expect(resetExifOrientation(truncated)).toBeUndefined();
  });
});

describe('sniffContainer', () => {
  it('reads magic bytes, not names', () => {
    expect(sniffContainer(Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0, 0]))).toBe('jpeg');
    expect(sniffContainer(Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1'))).toBe('webp');
    expect(sniffContainer(Buffer.from('RIFF\0\0\0\0AVI LIST', 'latin1'))).toBeUndefined();
    expect(sniffContainer(Buffer.from('MM\0*\0\0\0\x08', 'latin1'))).toBe('tiff');
    expect(sniffContainer(Buffer.from('GIF89a', 'latin1'))).toBe('gif');
    expect(sniffContainer(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
  });
});
