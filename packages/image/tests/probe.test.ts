import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkOutputSize, DEFAULT_LIMITS } from '../src/limits.ts';
import { probeImage } from '../src/probe.ts';
import { expectCode, expectCodeSync, fixture, quadrants, rawImage, writeBmp } from './helpers.ts';

describe('probeImage: formats from the header', () => {
  const W = 64;
  const H = 48;
  const base = () => rawImage(W, H, 3, quadrants(W, H));

  it.each([
    ['jpeg', () => base().jpeg().toBuffer()],
    ['png', () => base().png().toBuffer()],
    ['webp', () => base().webp().toBuffer()],
    ['tiff', () => base().tiff().toBuffer()],
    ['gif', () => base().gif().toBuffer()],
    ['avif', () => base().avif({ quality: 60, effort: 0 }).toBuffer()],
    ['bmp', async () => writeBmp({ width: W, height: H, bitsPerPixel: 24, at: quadrants(W, H) })],
    ['heic', async () => fixture('quadrants-64x48.heic')],
  ] as const)('%s', async (format, make) => {
    const buf = await make();
    const probe = await probeImage(buf);
    expect(probe).toMatchObject({ format, width: W, height: H, bytes: buf.length, bitDepth: 8, isGrey: false });
    // libvips loads every GIF as RGBA, so its header cannot rule transparency out.
    if (format !== 'gif') expect(probe.hasAlpha).toBe(false);
  });

  it('reports displayed size for EXIF orientation 6 (rotated 90°)', async () => {
    const buf = await base().withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const probe = await probeImage(buf);
    expect(probe).toMatchObject({ width: H, height: W, orientation: 6 });
  });

  it('reports alpha, grey, 16-bit and ICC', async () => {
    const rgba = await rawImage(8, 8, 4, () => [10, 20, 30, 128])
      .png()
      .toBuffer();
    expect(await probeImage(rgba)).toMatchObject({ hasAlpha: true, channels: 4 });
    const grey = await rawImage(8, 8, 3, (x) => [x * 30, x * 30, x * 30])
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect(await probeImage(grey)).toMatchObject({ isGrey: true, channels: 1 });
    const deep = await sharp(new Uint16Array(8 * 8 * 3).fill(1000), { raw: { width: 8, height: 8, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect(await probeImage(deep)).toMatchObject({ bitDepth: 16 });
    const tagged = await rawImage(8, 8, 3, () => [200, 10, 10])
      .withIccProfile('p3')
      .jpeg()
      .toBuffer();
    expect(await probeImage(tagged)).toMatchObject({ hasIcc: true });
    const heicAlpha = await probeImage(fixture('alpha-64x48.heic'));
    expect(heicAlpha).toMatchObject({ format: 'heic', hasAlpha: true });
  });
});

describe('probeImage: bad input and limits', () => {
  let bomb: Buffer;
  beforeAll(async () => {
    // A 10000×10000 single-colour PNG: ~100 kB on disk, 100 MP (300 MB as RGB) once decoded.
    bomb = await sharp({
      create: { width: 10000, height: 10000, channels: 3, background: '#808080' },
      limitInputPixels: false,
    })
      .toColourspace('b-w')
      .png({ compressionLevel: 9 })
      .toBuffer();
  });

  it('empty file → EMPTY_FILE', async () => {
    await expectCode(probeImage(Buffer.alloc(0)), 'EMPTY_FILE');
  });

  it('over maxFileBytes → FILE_TOO_LARGE with the limit', async () => {
    const png = await rawImage(16, 16, 3, () => [1, 2, 3])
      .png()
      .toBuffer();
    const err = await expectCode(probeImage(png, { maxFileBytes: 10 }), 'FILE_TOO_LARGE');
    expect(err.details).toMatchObject({ bytes: png.length, maxFileBytes: 10 });
    expect(err.status).toBe(413);
  });

  it('text renamed .jpg → UNSUPPORTED_FORMAT', async () => {
    await expectCode(probeImage(Buffer.from('hello, this is not a picture\n'.repeat(10))), 'UNSUPPORTED_FORMAT');
  });

  it('an MP4-like ISO file is not taken for HEIF', async () => {
    const mp4 = Buffer.alloc(64);
    mp4.writeUInt32BE(24, 0);
    mp4.write('ftypisom', 4, 'latin1');
    mp4.write('isommp41', 16, 'latin1');
    await expectCode(probeImage(mp4), 'UNSUPPORTED_FORMAT');
  });

  it('JPEG magic followed by garbage → CORRUPT_IMAGE', async () => {
    const fake = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('garbage'.repeat(20))]);
    await expectCode(probeImage(fake), 'CORRUPT_IMAGE');
  });

  it('PNG decompression bomb → TOO_MANY_PIXELS from the header, in milliseconds', async () => {
    expect(bomb.length).toBeLessThan(1_000_000);
    const started = performance.now();
    const err = await expectCode(probeImage(bomb), 'TOO_MANY_PIXELS');
    expect(performance.now() - started).toBeLessThan(500);
    expect(err.details).toMatchObject({ width: 10000, height: 10000, maxInputPixels: DEFAULT_LIMITS.maxInputPixels });
  });

  it('maxInputPixels is applied to the oriented size of every format', async () => {
    const jpeg = await rawImage(64, 48, 3, quadrants(64, 48)).jpeg().toBuffer();
    await expectCode(probeImage(jpeg, { maxInputPixels: 64 * 48 - 1 }), 'TOO_MANY_PIXELS');
    expect((await probeImage(jpeg, { maxInputPixels: 64 * 48 })).width).toBe(64);
    const bmp = writeBmp({ width: 64, height: 48, bitsPerPixel: 24, at: quadrants(64, 48) });
    await expectCode(probeImage(bmp, { maxInputPixels: 1000 }), 'TOO_MANY_PIXELS');
    await expectCode(probeImage(fixture('quadrants-64x48.heic'), { maxInputPixels: 1000 }), 'TOO_MANY_PIXELS');
  });

  it('HEIC whose ispe claims 20000×20000 → TOO_MANY_PIXELS without decoding', async () => {
    const heic = Buffer.from(fixture('quadrants-64x48.heic'));
    // The primary (grid) item's ispe says 64×48; the 64×64 tile's does not count.
    const ispe = heic.indexOf(Buffer.from([0, 0, 0, 0x40, 0, 0, 0, 0x30]), heic.indexOf('ispe', 0, 'latin1'));
    expect(ispe).toBeGreaterThan(0);
    heic.writeUInt32BE(20000, ispe);
    heic.writeUInt32BE(20000, ispe + 4);
    await expectCode(probeImage(heic), 'TOO_MANY_PIXELS');
  });

  it('BMP whose header lies about its size → CORRUPT_IMAGE before any allocation', async () => {
    const bmp = writeBmp({ width: 16, height: 16, bitsPerPixel: 24, at: () => [1, 2, 3] });
    bmp.writeInt32LE(5000, 18);
    bmp.writeInt32LE(5000, 22);
    const err = await expectCode(probeImage(bmp), 'CORRUPT_IMAGE');
    expect(err.details).toMatchObject({ width: 5000, bytes: bmp.length });
  });
});

describe('checkOutputSize', () => {
  it('passes within the limit and throws OUTPUT_TOO_LARGE beyond it, with the numbers', () => {
    expect(() => checkOutputSize(5000, 5000, 4)).not.toThrow(); // 400 MP exactly
    const err = expectCodeSync(() => checkOutputSize(5000, 5001, 4), 'OUTPUT_TOO_LARGE');
    expect(err.details).toMatchObject({
      outputWidth: 20000,
      outputHeight: 20004,
      maxOutputPixels: 400_000_000,
      scale: 4,
    });
    expectCodeSync(() => checkOutputSize(100, 100, 2, { maxOutputPixels: 39_999 }), 'OUTPUT_TOO_LARGE');
  });
});
