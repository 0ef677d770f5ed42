import { encode as encodeBmpTs } from 'bmp-ts';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/decode.ts';
import {
  expectClose,
  expectCode,
  fixture,
  planarPixel,
  QUADRANT_COLOURS,
  quadrants,
  rawImage,
  writeBmp,
} from './helpers.ts';

const W = 64;
const H = 48;
const base = () => rawImage(W, H, 3, quadrants(W, H));
/** Sample points well inside each quadrant (lossy codecs blur the edges). */
const inside = { topLeft: [8, 8], topRight: [W - 9, 8], bottomLeft: [8, H - 9], bottomRight: [W - 9, H - 9] } as const;

function expectQuadrants(img: Parameters<typeof planarPixel>[0], tolerance: number): void {
  for (const [name, [x, y]] of Object.entries(inside)) {
    expectClose(planarPixel(img, x, y), QUADRANT_COLOURS[name as keyof typeof QUADRANT_COLOURS], tolerance);
  }
}

describe('decodeImage: every input format', () => {
  it.each([
    ['jpeg', () => base().jpeg({ quality: 95 }).toBuffer(), 6],
    ['png', () => base().png().toBuffer(), 0],
    ['webp', () => base().webp({ lossless: true }).toBuffer(), 0],
    ['tiff', () => base().tiff({ compression: 'deflate' }).toBuffer(), 0],
    ['gif', () => base().gif().toBuffer(), 8],
    ['avif', () => base().avif({ quality: 90, effort: 0 }).toBuffer(), 12],
  ] as const)('%s → planar sRGB with the right pixels', async (format, make, tolerance) => {
    const img = await decodeImage(await make());
    expect(img).toMatchObject({ width: W, height: H, sourceFormat: format, bitDepth: 8, isGrey: false });
    expect(img.rgb).toMatchObject({ width: W, height: H, channels: 3 });
    expect(img.rgb.data.length).toBe(W * H * 3);
    expect(img.alpha).toBeUndefined();
    expectQuadrants(img.rgb, tolerance);
  });

  it('GIF: first frame of an animation', async () => {
    const frames = Buffer.concat([
      await rawImage(8, 8, 3, () => [250, 0, 0])
        .raw()
        .toBuffer(),
      await rawImage(8, 8, 3, () => [0, 0, 250])
        .raw()
        .toBuffer(),
    ]);
    const gif = await sharp(frames, { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } })
      .gif({ delay: [100, 100] })
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const img = await decodeImage(gif);
    expect([img.width, img.height]).toEqual([8, 8]);
    expectClose(planarPixel(img.rgb, 4, 4), [250, 0, 0], 8);
  });

  it('HEIC (HEVC grid, decoded by the wasm libheif)', async () => {
    const img = await decodeImage(fixture('quadrants-64x48.heic'));
    expect(img).toMatchObject({ width: 64, height: 48, sourceFormat: 'heic', bitDepth: 8 });
    expect(img.alpha).toBeUndefined();
    expectClose(planarPixel(img.rgb, 4, 4), [30, 200, 30], 12);
    expectClose(planarPixel(img.rgb, 24, 30), [220, 30, 30], 12);
    expectClose(planarPixel(img.rgb, 50, 30), [30, 30, 220], 12);
  });

  it('HEIC with alpha keeps the alpha plane', async () => {
    const img = await decodeImage(fixture('alpha-64x48.heic'));
    expect(img.alpha).toBeDefined();
    const alpha = img.alpha!;
    expect(planarPixel(alpha, 10, 10)[0]).toBeGreaterThan(245);
    expect(planarPixel(alpha, 54, 10)[0]).toBeLessThan(10);
  });

  it('HEIC with a Display P3 profile is converted to sRGB', async () => {
    const img = await decodeImage(fixture('p3-red-64x48.heic'));
    // Stored values are ≈ (234, 51, 34); converted back they are sRGB red again.
    expectClose(planarPixel(img.rgb, 32, 24), [255, 0, 0], 12);
    expect(img.metadata.icc).toBeDefined();
  });
});

describe('decodeImage: BMP via bmp-ts', () => {
  const w = 13; // odd width: rows need padding
  const h = 7;
  const at = quadrants(w, h);

  it.each([
    ['24-bit bottom-up', { bitsPerPixel: 24 as const }],
    ['24-bit top-down', { bitsPerPixel: 24 as const, topDown: true }],
    ['32-bit without alpha mask', { bitsPerPixel: 32 as const }],
  ])('%s', async (_name, opts) => {
    const img = await decodeImage(writeBmp({ width: w, height: h, at, ...opts }));
    expect(img).toMatchObject({ width: w, height: h, sourceFormat: 'bmp' });
    expect(img.alpha).toBeUndefined();
    expect(planarPixel(img.rgb, 0, 0)).toEqual([...QUADRANT_COLOURS.topLeft]);
    expect(planarPixel(img.rgb, w - 1, 0)).toEqual([...QUADRANT_COLOURS.topRight]);
    expect(planarPixel(img.rgb, 0, h - 1)).toEqual([...QUADRANT_COLOURS.bottomLeft]);
    expect(planarPixel(img.rgb, w - 1, h - 1)).toEqual([...QUADRANT_COLOURS.bottomRight]);
  });

  it('32-bit with an alpha mask keeps alpha', async () => {
    const img = await decodeImage(
      writeBmp({ width: w, height: h, bitsPerPixel: 32, alpha: true, at: (x) => [10, 20, 30, x * 10] }),
    );
    expect(img.alpha).toBeDefined();
    expect(planarPixel(img.alpha!, 0, 3)).toEqual([0]);
    expect(planarPixel(img.alpha!, 12, 3)).toEqual([120]);
  });

  it('a file written by bmp-ts itself', async () => {
    // bmp-ts encodes from ABGR bytes, bottom-up 24-bit.
    const abgr = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const [r, g, b] = at(x, y);
        abgr.set([0, b, g, r], (y * w + x) * 4);
      }
    const img = await decodeImage(encodeBmpTs({ data: abgr, width: w, height: h, bitPP: 24 }).data);
    expect(planarPixel(img.rgb, 0, 0)).toEqual([...QUADRANT_COLOURS.topLeft]);
    expect(planarPixel(img.rgb, w - 1, h - 1)).toEqual([...QUADRANT_COLOURS.bottomRight]);
  });
});

describe('decodeImage: orientation, colour, alpha, grey, depth', () => {
  it('EXIF orientation 6 rotates dimensions and pixels 90° clockwise', async () => {
    const img = await decodeImage(await base().withMetadata({ orientation: 6 }).png().toBuffer());
    expect([img.width, img.height]).toEqual([H, W]);
    // Rotating clockwise brings the stored bottom-left to the displayed top-left.
    expect(planarPixel(img.rgb, 2, 2)).toEqual([...QUADRANT_COLOURS.bottomLeft]);
    expect(planarPixel(img.rgb, H - 3, 2)).toEqual([...QUADRANT_COLOURS.topLeft]);
    expect(planarPixel(img.rgb, H - 3, W - 3)).toEqual([...QUADRANT_COLOURS.topRight]);
    expect(img.metadata.exif).toBeDefined();
  });

  it('AVIF orientation is applied once (libheif applies irot; EXIF is not applied again)', async () => {
    const avif = await base().withMetadata({ orientation: 6 }).avif({ quality: 90, effort: 0 }).toBuffer();
    const img = await decodeImage(avif);
    expect([img.width, img.height]).toEqual([H, W]);
    expectClose(planarPixel(img.rgb, 6, 6), QUADRANT_COLOURS.bottomLeft, 16);
  });

  it('Display P3 JPEG is converted to sRGB', async () => {
    const p3 = await rawImage(16, 16, 3, () => [255, 0, 0])
      .withIccProfile('p3')
      .jpeg({ quality: 100 })
      .toBuffer();
    const stored = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
    expect(Math.abs(stored[1]! - 0)).toBeGreaterThan(30); // the file really holds P3 numbers
    const img = await decodeImage(p3);
    expectClose(planarPixel(img.rgb, 8, 8), [255, 0, 0], 4);
    expect(img.metadata.icc?.length).toBeGreaterThan(100);
  });

  it('16-bit Display P3 PNG is converted to sRGB (sharp keeps 16-bit in P3 unless told)', async () => {
    // P3 coordinates of sRGB red, stored at 16 bits and tagged P3 (libvips treats 16-bit raw input
    // as P3 already, so withIccProfile only attaches the tag).
    const [r, g, b] = [0.918, 0.2, 0.137].map((v) => Math.round(v * 65535)) as [number, number, number];
    const px = new Uint16Array(8 * 8 * 3);
    for (let i = 0; i < 64; i++) px.set([r, g, b], i * 3);
    const png = await sharp(px, { raw: { width: 8, height: 8, channels: 3 } })
      .toColourspace('rgb16')
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const img = await decodeImage(png);
    expect(img.bitDepth).toBe(16);
    expectClose(planarPixel(img.rgb, 4, 4), [255, 0, 0], 8);
  });

  it('CMYK JPEG is converted to RGB', async () => {
    const cmyk = await rawImage(16, 16, 3, () => [40, 120, 200])
      .toColourspace('cmyk')
      .jpeg({ quality: 100 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const img = await decodeImage(cmyk);
    expectClose(planarPixel(img.rgb, 8, 8), [40, 120, 200], 25);
  });

  it('alpha is returned as its own plane, colour untouched (not premultiplied)', async () => {
    const png = await rawImage(16, 8, 4, (x) => [200, 100, 50, x * 16])
      .png()
      .toBuffer();
    const img = await decodeImage(png);
    expect(img.alpha).toMatchObject({ width: 16, height: 8, channels: 1 });
    expect(planarPixel(img.alpha!, 5, 3)).toEqual([80]);
    expect(planarPixel(img.rgb, 5, 3)).toEqual([200, 100, 50]);
  });

  it('an all-opaque alpha channel is dropped', async () => {
    const img = await decodeImage(
      await rawImage(8, 8, 4, () => [1, 2, 3, 255])
        .png()
        .toBuffer(),
    );
    expect(img.alpha).toBeUndefined();
  });

  it('greyscale is flagged and expanded to three equal planes', async () => {
    const png = await rawImage(16, 8, 3, (x) => [x * 15, x * 15, x * 15])
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const img = await decodeImage(png);
    expect(img.isGrey).toBe(true);
    expect(planarPixel(img.rgb, 7, 2)).toEqual([105, 105, 105]);
  });

  it.each(['png', 'tiff'] as const)('16-bit %s keeps full precision', async (format) => {
    const values = [1000, 40_001, 65_535, 12_345, 7, 30_000];
    const px = new Uint16Array(2 * 1 * 3);
    px.set(values);
    const raw = sharp(px, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16');
    // sharp's TIFF default is 8-bit JPEG compression; deflate keeps 16 bits.
    const file = await (format === 'png' ? raw.png() : raw.tiff({ compression: 'deflate' })).toBuffer();
    const img = await decodeImage(file);
    expect(img.bitDepth).toBe(16);
    const got = [0, 1, 2].flatMap((c) => [img.rgb.data[c * 2]!, img.rgb.data[c * 2 + 1]!]);
    const want = [values[0]!, values[3]!, values[1]!, values[4]!, values[2]!, values[5]!].map((v) => v / 65535);
    got.forEach((v, i) => {
      expect(v).toBeCloseTo(want[i]!, 6);
    });
  });
});

describe('decodeImage: undecodable input gives a typed error', () => {
  it('truncated JPEG → CORRUPT_IMAGE', async () => {
    const jpeg = await rawImage(128, 128, 3, (x, y) => [(x * 7) % 256, (y * 5) % 256, (x ^ y) % 256])
      .jpeg()
      .toBuffer();
    await expectCode(decodeImage(jpeg.subarray(0, Math.floor(jpeg.length * 0.6))), 'CORRUPT_IMAGE');
  });

  it('truncated PNG → CORRUPT_IMAGE', async () => {
    const png = await rawImage(128, 128, 3, (x, y) => [(x * 7) % 256, (y * 5) % 256, (x ^ y) % 256])
      .png()
      .toBuffer();
    await expectCode(decodeImage(png.subarray(0, Math.floor(png.length * 0.6))), 'CORRUPT_IMAGE');
  });

  it('text renamed .jpg → UNSUPPORTED_FORMAT', async () => {
    await expectCode(decodeImage(Buffer.from('{"not": "an image"}')), 'UNSUPPORTED_FORMAT');
  });

  it('zero bytes → EMPTY_FILE', async () => {
    await expectCode(decodeImage(Buffer.alloc(0)), 'EMPTY_FILE');
  });

  it('PNG bomb → TOO_MANY_PIXELS without decoding', async () => {
    const bomb = await sharp({
      create: { width: 8000, height: 6000, channels: 3, background: '#000' },
      limitInputPixels: false,
    })
      .toColourspace('b-w')
      .png({ compressionLevel: 9 })
      .toBuffer();
    const started = performance.now();
    await expectCode(decodeImage(bomb), 'TOO_MANY_PIXELS');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('BMP with a header larger than its data → CORRUPT_IMAGE', async () => {
    const bmp = writeBmp({ width: 64, height: 64, bitsPerPixel: 24, at: () => [9, 9, 9] });
    await expectCode(decodeImage(bmp.subarray(0, bmp.length - 500)), 'CORRUPT_IMAGE');
  });

  it('HEIC with damaged image data → CORRUPT_IMAGE', async () => {
    const heic = Buffer.from(fixture('quadrants-64x48.heic'));
    const mdat = heic.indexOf('mdat', 0, 'latin1');
    heic.fill(0xaa, mdat + 8, heic.length);
    await expectCode(decodeImage(heic), 'CORRUPT_IMAGE');
  });
});
