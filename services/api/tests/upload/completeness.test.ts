import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  assertImageComplete,
  completenessCheck,
  gifCheck,
  HEADER_COPY_LIMIT,
  jpegCheck,
} from '../../src/upload/completeness.ts';
import { bufferSource } from '../../src/upload/range-reader.ts';
import { readTiffStructure } from '../../src/upload/tiff-structure.ts';
import { readWebpHeaderCopy } from '../../src/upload/webp-structure.ts';

const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../packages/image/tests/fixtures/images/${name}`, import.meta.url)));

const base = () => sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a6' } });
/** Three 32×24 frames: sharp writes an animation from a strip of pages. */
const animated = () =>
  sharp(Buffer.concat([30, 90, 150].map((v) => Buffer.alloc(32 * 24 * 3, v))), {
    raw: { width: 32, height: 72, channels: 3, pageHeight: 24 },
  });

describe('assertImageComplete: truncated files are refused before any decode', () => {
  it.each([
    ['gif', () => base().gif().toBuffer()],
    ['gif', () => animated().gif({ loop: 0 }).toBuffer()],
    ['tiff', () => base().tiff().toBuffer()],
    ['tiff', () => base().tiff({ compression: 'deflate' }).toBuffer()],
    ['tiff', () => base().tiff({ tile: true, tileWidth: 16, tileHeight: 16, compression: 'lzw' }).toBuffer()],
    ['avif', () => base().avif().toBuffer()],
    ['heic', async () => fixture('quadrants-64x48.heic')],
    ['heic', async () => fixture('alpha-64x48.heic')],
  ] as const)('%s: whole passes, cut by 1 byte or by half is CORRUPT_IMAGE', async (format, make) => {
    const whole = await make();
    await expect(assertImageComplete(whole, format)).resolves.toBeUndefined();
    for (const cut of [1, Math.floor(whole.length / 2)]) {
      await expect(assertImageComplete(whole.subarray(0, whole.length - cut), format)).rejects.toThrow(
        expect.objectContaining({ code: 'CORRUPT_IMAGE', message: expect.stringMatching(/truncated or damaged/) }),
      );
    }
  });

  it('refuses a TIFF whose strip points past the end even when the directory is intact', async () => {
    const tiff = Buffer.from(await base().tiff({ compression: 'deflate' }).toBuffer());
    const ifd = tiff.readUInt32LE(4);
    for (let k = 0; k < tiff.readUInt16LE(ifd); k++) {
      const entry = ifd + 2 + 12 * k;
      if (tiff.readUInt16LE(entry) === 279) tiff.writeUInt32LE(1_000_000, entry + 8); // StripByteCounts
    }
    await expect(assertImageComplete(tiff, 'tiff')).rejects.toThrow(/image data 0 runs past the end/);
  });
});

describe('the streaming HEIF/AVIF and GIF checks (uploads are checked as they arrive)', () => {
  /** Feeds the bytes in pieces of `size`, as a streamed upload would. */
  const streamed = (buf: Buffer, format: string, size: number) => {
    const check = completenessCheck(format);
    if (!check) throw new Error(`no streaming check for ${format}`);
    for (let i = 0; i < buf.length; i += size) check.push(buf.subarray(i, i + size));
    check.end();
  };

  it.each([
    ['avif', () => base().avif().toBuffer()],
    ['heic', async () => fixture('quadrants-64x48.heic')],
    ['gif', () => base().gif().toBuffer()],
    ['gif', () => animated().gif({ loop: 0 }).toBuffer()],
  ] as const)('%s: in 1-, 7- and 4096-byte pieces, whole passes and every cut is refused', async (format, make) => {
    const whole = await make();
    for (const size of [1, 7, 4096]) {
      expect(() => streamed(whole, format, size)).not.toThrow();
      for (const cut of [1, 9, Math.floor(whole.length / 2)]) {
        expect(() => streamed(whole.subarray(0, whole.length - cut), format, size)).toThrow(
          expect.objectContaining({ code: 'CORRUPT_IMAGE' }),
        );
      }
    }
  });
});

describe('header-only copies: sharp reads the same header from a few bytes', () => {
  const header = async (buf: Buffer) => {
    const m = await sharp(buf).metadata();
    return [m.format, m.width, m.height, m.channels, m.hasAlpha, m.depth, m.space, m.hasProfile, m.orientation];
  };
  const noisy = (channels: 3 | 4) =>
    sharp({
      create: {
        width: 120,
        height: 80,
        channels,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 60 },
      },
    });

  it.each([
    ['strips', () => noisy(3).tiff().toBuffer()],
    ['alpha, LZW', () => noisy(4).tiff({ compression: 'lzw' }).toBuffer()],
    [
      'JPEG-compressed, rotated',
      () => noisy(3).tiff({ compression: 'jpeg' }).withMetadata({ orientation: 6 }).toBuffer(),
    ],
    [
      'tiles with an ICC profile',
      () =>
        noisy(3)
          .tiff({ tile: true, tileWidth: 32, tileHeight: 32, compression: 'deflate' })
          .withIccProfile('p3')
          .toBuffer(),
    ],
    ['a pyramid (several directories)', () => noisy(3).tiff({ pyramid: true, tile: true }).toBuffer()],
  ])('TIFF %s: the first directory and its values alone', async (_, make) => {
    const tiff = await make();
    const copy = await readTiffStructure(bufferSource(tiff));
    expect(copy.length).toBeLessThan(4096);
    expect(await header(copy)).toEqual(await header(tiff));
  });

  it.each([
    ['opaque', () => noisy(3).gif().toBuffer()],
    ['with transparency', () => noisy(4).gif().toBuffer()],
    ['animated', () => animated().gif({ loop: 0 }).toBuffer()],
  ])('GIF %s: frames without their pixels', async (_, make) => {
    const gif = await make();
    const check = gifCheck();
    check.push(gif);
    check.end();
    expect(check.headerCopy().length).toBeLessThan(1024);
    expect(await header(check.headerCopy())).toEqual(await header(gif));
  });

  it.each([
    ['baseline', () => noisy(3).jpeg().toBuffer()],
    [
      'progressive, rotated, with an ICC profile',
      () => noisy(3).jpeg({ progressive: true }).withMetadata({ orientation: 6 }).withIccProfile('p3').toBuffer(),
    ],
    ['CMYK', () => noisy(3).toColourspace('cmyk').jpeg().toBuffer()],
  ])('JPEG %s: the segments before the first scan', async (_, make) => {
    const jpeg = await make();
    const check = jpegCheck();
    for (let i = 0; i < jpeg.length; i += 1000) check.push(jpeg.subarray(i, i + 1000));
    check.end();
    expect(check.headerCopy().length).toBeLessThan(jpeg.length / 2);
    expect(await header(check.headerCopy())).toEqual(await header(jpeg));
  });

  it.each([
    ['lossy', () => noisy(3).webp().toBuffer()],
    ['lossless with alpha', () => noisy(4).webp({ lossless: true }).toBuffer()],
    ['lossy with alpha and an ICC profile', () => noisy(4).webp().withIccProfile('p3').toBuffer()],
    ['rotated by EXIF', () => noisy(3).webp().withMetadata({ orientation: 6 }).toBuffer()],
    ['animated', () => animated().webp({ loop: 0 }).toBuffer()],
  ])('WebP %s: chunks without their bitstreams', async (_, make) => {
    const webp = await make();
    const copy = await readWebpHeaderCopy(bufferSource(webp));
    expect(copy.length).toBeLessThan(2048);
    expect(await header(copy)).toEqual(await header(webp));
  });

  it('keeps no more than HEADER_COPY_LIMIT of header structures, and says so when the copy is needed', async () => {
    const jpeg = await noisy(3).jpeg().toBuffer();
    // 48 tables of 64 KiB (DQT is kept whatever its size, so only the limit stops it) before the frame.
    const table = Buffer.alloc(65_537);
    table.writeUInt16BE(0xffdb, 0);
    table.writeUInt16BE(65_535, 2);
    const padded = Buffer.concat([jpeg.subarray(0, 2), ...Array.from({ length: 48 }, () => table), jpeg.subarray(2)]);
    const check = jpegCheck();
    check.push(padded);
    check.end(); // structurally whole: only the header copy is refused
    expect(() => check.headerCopy()).toThrow(
      expect.objectContaining({
        code: 'UNSUPPORTED_FORMAT',
        message: expect.stringContaining(`${HEADER_COPY_LIMIT} bytes`),
      }),
    );

    const gif = await noisy(3).gif().toBuffer();
    // An application extension of 48 × 255-byte sub-blocks × 200 before the first frame.
    const subBlocks = Buffer.concat(
      Array.from({ length: 48 * 200 }, () => Buffer.concat([Buffer.from([255]), Buffer.alloc(255)])),
    );
    const flags = gif[10] as number;
    const screen = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0);
    const extension = Buffer.concat([Buffer.from([0x21, 0xff]), subBlocks, Buffer.from([0])]);
    const gifCheckOf = gifCheck();
    gifCheckOf.push(Buffer.concat([gif.subarray(0, screen), extension, gif.subarray(screen)]));
    gifCheckOf.end();
    expect(() => gifCheckOf.headerCopy()).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
  });
});
