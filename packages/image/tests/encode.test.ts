import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/decode.ts';
import { type EncodableImage, encodeImage, resolveOutputFormat } from '../src/encode.ts';
import { readExifOrientation } from '../src/exif.ts';
import type { PlanarImage } from '../src/planar.ts';
import { expectClose, expectCode, fixture, QUADRANT_COLOURS, quadrants, rawImage, writeBmp } from './helpers.ts';

const W = 32;
const H = 24;
const base = () => rawImage(W, H, 3, quadrants(W, H));
const opts = { format: 'auto', quality: 92, keepMetadata: false } as const;

async function pixelOf(file: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return Array.from(data.subarray(i, i + info.channels));
}

function constantPlane(width: number, height: number, values: readonly number[]): PlanarImage {
  const n = width * height;
  const data = new Float32Array(n * values.length);
  values.forEach((v, c) => {
    data.fill(v, c * n, (c + 1) * n);
  });
  return { width, height, channels: values.length, data };
}

describe('resolveOutputFormat (auto)', () => {
  it.each([
    ['jpeg', false, 'jpeg'],
    ['png', false, 'png'],
    ['webp', true, 'webp'],
    ['tiff', false, 'tiff'],
    ['bmp', false, 'png'],
    ['gif', true, 'png'],
    ['heic', false, 'jpeg'],
    ['heic', true, 'png'],
    ['avif', false, 'jpeg'],
  ] as const)('%s (alpha %s) → %s', (source, alpha, expected) => {
    expect(resolveOutputFormat('auto', source, alpha, 100, 100)).toBe(expected);
  });

  it('an explicit format wins, and a side too large for it is refused or avoided', async () => {
    expect(resolveOutputFormat('webp', 'png', false, 100, 100)).toBe('webp');
    expect(resolveOutputFormat('auto', 'webp', false, 20_000, 100)).toBe('png');
    const rgb = constantPlane(16_384, 1, [0.5, 0.5, 0.5]);
    const err = await expectCode(
      encodeImage({ rgb, bitDepth: 8, isGrey: false, sourceFormat: 'png', metadata: {} }, { ...opts, format: 'webp' }),
      'OUTPUT_TOO_LARGE',
    );
    expect(err.details).toMatchObject({ maxSide: 16_383, format: 'webp' });
  });
});

describe('encodeImage: round trips', () => {
  it.each([
    ['jpeg', () => base().jpeg({ quality: 95 }).toBuffer(), 'jpeg', 8],
    ['png', () => base().png().toBuffer(), 'png', 0],
    ['webp', () => base().webp({ lossless: true }).toBuffer(), 'webp', 8],
    ['tiff', () => base().tiff({ compression: 'deflate' }).toBuffer(), 'tiff', 0],
    ['bmp', async () => writeBmp({ width: W, height: H, bitsPerPixel: 24, at: quadrants(W, H) }), 'png', 0],
    ['gif', () => base().gif().toBuffer(), 'png', 8],
  ] as const)('%s → decode → encode auto gives %s with the same pixels', async (_source, make, expected, tolerance) => {
    const decoded = await decodeImage(await make());
    const out = await encodeImage(decoded, opts);
    expect(out).toMatchObject({ format: expected, width: W, height: H });
    const meta = await sharp(out.data).metadata();
    expect(meta.format).toBe(expected);
    expectClose((await pixelOf(out.data, 4, 4)).slice(0, 3), QUADRANT_COLOURS.topLeft, tolerance);
    expectClose((await pixelOf(out.data, W - 5, H - 5)).slice(0, 3), QUADRANT_COLOURS.bottomRight, tolerance);
  });

  it('HEIC photo → JPEG, HEIC with alpha → PNG with alpha', async () => {
    const photo = await encodeImage(await decodeImage(fixture('quadrants-64x48.heic')), opts);
    expect(photo.format).toBe('jpeg');
    const withAlpha = await encodeImage(await decodeImage(fixture('alpha-64x48.heic')), opts);
    expect(withAlpha.format).toBe('png');
    expect((await sharp(withAlpha.data).metadata()).hasAlpha).toBe(true);
    expect((await pixelOf(withAlpha.data, 54, 10))[3]).toBeLessThan(10);
  });

  it('JPEG quality changes the file', async () => {
    const decoded = await decodeImage(
      await rawImage(64, 64, 3, (x, y) => [(x * 37) % 256, (y * 53) % 256, (x * y) % 256])
        .png()
        .toBuffer(),
    );
    const low = await encodeImage(decoded, { ...opts, format: 'jpeg', quality: 20 });
    const high = await encodeImage(decoded, { ...opts, format: 'jpeg', quality: 95 });
    expect(low.data.length).toBeLessThan(high.data.length);
  });
});

describe('encodeImage: alpha, grey, depth', () => {
  const alphaPng = () =>
    rawImage(16, 8, 4, (x) => [200, 100, 50, x * 16])
      .png()
      .toBuffer();

  it('alpha is re-attached for PNG and WebP', async () => {
    const decoded = await decodeImage(await alphaPng());
    for (const format of ['png', 'webp'] as const) {
      const out = await encodeImage(decoded, { ...opts, format, quality: 100 });
      const meta = await sharp(out.data).metadata();
      expect(meta.hasAlpha).toBe(true);
      const px = await pixelOf(out.data, 5, 3);
      expect(Math.abs(px[3]! - 80)).toBeLessThanOrEqual(format === 'png' ? 0 : 2);
    }
  });

  it('explicit JPEG of an alpha image is flattened onto white', async () => {
    const decoded = await decodeImage(await alphaPng());
    const out = await encodeImage(decoded, { ...opts, format: 'jpeg', quality: 100 });
    expect(out.format).toBe('jpeg');
    // x = 0 is fully transparent → white; x = 15 alpha 240 → mostly the colour.
    expectClose(await pixelOf(out.data, 0, 3), [255, 255, 255], 3);
    const a = 240 / 255;
    expectClose(
      await pixelOf(out.data, 15, 3),
      [200 * a + 255 * (1 - a), 100 * a + 255 * (1 - a), 50 * a + 255 * (1 - a)],
      4,
    );
  });

  it('greyscale sources are written with one channel', async () => {
    const grey = await decodeImage(
      await rawImage(16, 8, 3, (x) => [x * 15, x * 15, x * 15])
        .toColourspace('b-w')
        .png()
        .toBuffer(),
    );
    for (const format of ['png', 'jpeg'] as const) {
      const out = await encodeImage(grey, { ...opts, format });
      const meta = await sharp(out.data).metadata();
      expect(meta.channels).toBe(1);
      expect(Math.abs((await pixelOf(out.data, 7, 2))[0]! - 105)).toBeLessThanOrEqual(format === 'png' ? 0 : 3);
    }
  });

  it.each(['png', 'tiff'] as const)('16-bit %s stays 16-bit with exact values', async (format) => {
    const values = [1000, 40_001, 65_535, 12_345, 7, 30_000];
    const px = new Uint16Array(6);
    px.set(values);
    const raw = sharp(px, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16');
    const file = await (format === 'png' ? raw.png() : raw.tiff({ compression: 'deflate' })).toBuffer();
    const out = await encodeImage(await decodeImage(file), opts);
    expect(out.format).toBe(format);
    const { data } = await sharp(out.data)
      .toColourspace('rgb16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    expect(data.length).toBe(2 * 1 * 3 * 2);
    expect(Array.from(new Uint16Array(data.buffer, data.byteOffset, 6))).toEqual(values);
    expect((await sharp(out.data).metadata()).depth).toBe('ushort');
  });

  it('16-bit source written as JPEG or WebP becomes 8-bit', async () => {
    const png16 = await sharp(new Uint16Array(4 * 4 * 3).fill(40_000), { raw: { width: 4, height: 4, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    const out = await encodeImage(await decodeImage(png16), { ...opts, format: 'webp', quality: 100 });
    expect((await sharp(out.data).metadata()).depth).toBe('uchar');
    expectClose((await pixelOf(out.data, 1, 1)).slice(0, 3), [155, 155, 155], 2);
  });

  it('values outside [0, 1] (model overshoot) are clamped', async () => {
    const rgb = constantPlane(4, 4, [1.3, -0.2, 0.5]);
    const img: EncodableImage = { rgb, bitDepth: 8, isGrey: false, sourceFormat: 'png', metadata: {} };
    const out = await encodeImage(img, opts);
    expect(await pixelOf(out.data, 2, 2)).toEqual([255, 0, 128]);
  });

  it('mismatched planes are a programming error', async () => {
    const img: EncodableImage = {
      rgb: constantPlane(4, 4, [0, 0, 0]),
      alpha: constantPlane(3, 4, [1]),
      bitDepth: 8,
      isGrey: false,
      sourceFormat: 'png',
      metadata: {},
    };
    await expectCode(encodeImage(img, opts), 'INTERNAL');
  });
});

describe('encodeImage: metadata', () => {
  const tagged = () =>
    base()
      .withExif({ IFD0: { Make: 'TestCam', Model: 'X1' } })
      .withMetadata({ orientation: 6 })
      .withIccProfile('p3')
      .jpeg({ quality: 95 })
      .toBuffer();

  it.each(['jpeg', 'png', 'webp'] as const)(
    'keepMetadata carries EXIF (orientation 1) and an sRGB profile to %s',
    async (format) => {
      const decoded = await decodeImage(await tagged());
      expect(readExifOrientation(decoded.metadata.exif!)).toBe(6);
      const out = await encodeImage(decoded, { ...opts, format, keepMetadata: true });
      const meta = await sharp(out.data).metadata();
      expect([meta.width, meta.height]).toEqual([H, W]);
      expect(meta.exif?.toString('latin1')).toContain('TestCam');
      expect(readExifOrientation(meta.exif!)).toBe(1);
      // Pixels are sRGB now, so the profile must be sRGB: decoding with it changes nothing.
      expect(meta.icc).toBeDefined();
      const srgb = (
        await sharp(
          await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
            .withIccProfile('srgb')
            .png()
            .toBuffer(),
        ).metadata()
      ).icc;
      expect(meta.icc!.equals(srgb!)).toBe(true);
    },
  );

  it('keepMetadata on TIFF keeps the profile; orientation stays upright', async () => {
    const decoded = await decodeImage(await tagged());
    const out = await encodeImage({ ...decoded, sourceFormat: 'tiff' }, { ...opts, keepMetadata: true });
    const meta = await sharp(out.data).metadata();
    expect(out.format).toBe('tiff');
    expect(meta.hasProfile).toBe(true);
    expect(meta.orientation ?? 1).toBe(1);
  });

  it('without keepMetadata nothing is carried', async () => {
    const out = await encodeImage(await decodeImage(await tagged()), opts);
    const meta = await sharp(out.data).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.hasProfile).toBe(false);
  });

  it('16-bit PNG with metadata stays 16-bit', async () => {
    const png16 = await sharp(new Uint16Array(4 * 4 * 3).fill(40_000), { raw: { width: 4, height: 4, channels: 3 } })
      .toColourspace('rgb16')
      .withExif({ IFD0: { Make: 'Deep' } })
      .png()
      .toBuffer();
    const decoded = await decodeImage(png16);
    expect(decoded.metadata.exif).toBeDefined();
    const out = await encodeImage(decoded, { ...opts, format: 'png', keepMetadata: true });
    const meta = await sharp(out.data).metadata();
    expect(meta.depth).toBe('ushort');
    expect(meta.exif?.toString('latin1')).toContain('Deep');
  });
});
