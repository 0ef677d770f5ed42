import { PhotoEnhanceError } from '@photoenhance/contracts';
import sharp from 'sharp';
import { decodeBmp } from './bmp.ts';
import type { InputFormat } from './formats.ts';
import { decodeHeicRgba } from './heic.ts';
import { type ImageLimits, resolveLimits } from './limits.ts';
import type { PlanarImage } from './planar.ts';
import { interleavedToPlanar, maxSampleValue } from './planar.ts';
import { iccpChunk, insertPngChunks } from './png-chunks.ts';
import { inspectImage } from './probe.ts';

export interface ImageMetadata {
  /** Raw EXIF block as found in the file (orientation still as stored). */
  exif?: Buffer;
  /** The source ICC profile; pixels have already been converted from it to sRGB. */
  icc?: Buffer;
}

export interface DecodedImage {
  /** sRGB, 3 planes in [0, 1], orientation applied. Grey sources are expanded to 3 equal planes. */
  rgb: PlanarImage;
  /** Straight (non-premultiplied) alpha, 1 plane, when the source has transparency. */
  alpha?: PlanarImage;
  width: number;
  height: number;
  sourceFormat: InputFormat;
  bitDepth: 8 | 16;
  isGrey: boolean;
  metadata: ImageMetadata;
}

/** Upper bound for one decode so a pathological file cannot hold a worker forever. */
const DECODE_TIMEOUT_SECONDS = 120;

function decodeError(format: string, cause: unknown): PhotoEnhanceError {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/exceeds pixel limit/i.test(message)) {
    return new PhotoEnhanceError('TOO_MANY_PIXELS', `The ${format} image is larger than the pixel limit`, { cause });
  }
  if (/timeout/i.test(message)) {
    return new PhotoEnhanceError(
      'CORRUPT_IMAGE',
      `Decoding the ${format} image took longer than ${DECODE_TIMEOUT_SECONDS} s`,
      { cause },
    );
  }
  return new PhotoEnhanceError(
    'CORRUPT_IMAGE',
    `The ${format} image is damaged or truncated and could not be decoded`,
    { cause, details: { format } },
  );
}

interface RawPixels {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  channels: number;
  bitDepth: 8 | 16;
}

/**
 * Full decode through libvips: EXIF orientation applied, embedded ICC converted to sRGB, grey and
 * CMYK expanded to RGB, alpha kept, 16-bit kept as 16-bit. Only the first frame of GIF/TIFF.
 */
async function decodeWithSharp(
  buf: Buffer,
  format: string,
  opts: { bitDepth: 8 | 16; hasIcc: boolean; maxPixels: number },
): Promise<RawPixels> {
  const is16 = opts.bitDepth === 16;
  const pipeline = sharp(buf, {
    // 'truncated' turns a cut-off JPEG/PNG into an error instead of grey rows; stricter levels
    // reject harmless warnings that real phone files trigger.
    failOn: 'truncated',
    limitInputPixels: opts.maxPixels,
    autoOrient: true,
    sequentialRead: true,
  }).timeout({ seconds: DECODE_TIMEOUT_SECONDS });
  if (opts.hasIcc) {
    // sharp converts 16-bit RGB to Display P3 (not sRGB) as its working space and would hand that
    // back untouched; an explicit sRGB target makes both depths end in sRGB. Not attached: raw out.
    pipeline.withIccProfile('srgb', { attach: false });
  }
  pipeline.toColourspace(is16 ? 'rgb16' : 'srgb').raw({ depth: is16 ? 'ushort' : 'uchar' });
  try {
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    const samples = is16
      ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return { data: samples, width: info.width, height: info.height, channels: info.channels, bitDepth: opts.bitDepth };
  } catch (cause) {
    throw decodeError(format, cause);
  }
}

/** True when the alpha channel (last of `channels`) is at its maximum everywhere. */
function isOpaque(samples: Uint8Array | Uint16Array, channels: number, max: number): boolean {
  for (let i = channels - 1; i < samples.length; i += channels) if (samples[i] !== max) return false;
  return true;
}

async function decodeHeic(buf: Buffer, icc: Buffer | undefined, maxPixels: number): Promise<RawPixels> {
  const { width, height, rgba } = await decodeHeicRgba(buf);
  if (!icc) return { data: rgba, width, height, channels: 4, bitDepth: 8 };
  // The wasm decoder does no colour management; route the pixels through libvips with the file's
  // profile attached (uncompressed PNG, cheap) so they end in sRGB like every other format.
  const png = await sharp(rgba, { raw: { width, height, channels: 4 }, limitInputPixels: false })
    .png({ compressionLevel: 0 })
    .toBuffer();
  return decodeWithSharp(insertPngChunks(png, [iccpChunk(icc)]), 'HEIC', { bitDepth: 8, hasIcc: true, maxPixels });
}

/**
 * Decodes any supported upload to planar float sRGB. Limits are checked on the header first, so an
 * oversized or lying file is rejected before a pixel buffer is allocated.
 */
export async function decodeImage(input: Buffer, limits?: Partial<ImageLimits>): Promise<DecodedImage> {
  const resolved = resolveLimits(limits);
  const { probe, meta, bmp, heifCodec } = await inspectImage(input, resolved);

  let raw: RawPixels;
  let hasAlpha = probe.hasAlpha;
  if (bmp) {
    const decoded = decodeBmp(input, bmp);
    raw = { data: decoded.rgba, width: decoded.width, height: decoded.height, channels: 4, bitDepth: 8 };
    hasAlpha = decoded.hasAlpha;
  } else if (heifCodec === 'hevc') {
    raw = await decodeHeic(input, meta?.icc, resolved.maxInputPixels);
  } else {
    raw = await decodeWithSharp(input, probe.format, {
      bitDepth: probe.bitDepth,
      hasIcc: probe.hasIcc,
      maxPixels: resolved.maxInputPixels,
    });
  }

  if (raw.width !== probe.width || raw.height !== probe.height) {
    throw new PhotoEnhanceError(
      'CORRUPT_IMAGE',
      `The header says ${probe.width}×${probe.height} but the pixels are ${raw.width}×${raw.height}`,
      {
        details: { headerWidth: probe.width, headerHeight: probe.height, width: raw.width, height: raw.height },
      },
    );
  }
  const max = maxSampleValue(raw.bitDepth);
  // Only keep alpha that hides something: libvips loads every GIF as RGBA and the HEIC decoder
  // always returns RGBA; an all-opaque plane would only cost a resize and a bigger file.
  if (hasAlpha && raw.channels === 4 && isOpaque(raw.data, 4, max)) hasAlpha = false;
  const rgb = interleavedToPlanar(raw.data, raw.width, raw.height, raw.channels, [0, 1, 2], max);
  const decoded: DecodedImage = {
    rgb,
    width: raw.width,
    height: raw.height,
    sourceFormat: probe.format,
    bitDepth: raw.bitDepth,
    isGrey: probe.isGrey,
    metadata: {},
  };
  if (hasAlpha && raw.channels === 4) decoded.alpha = interleavedToPlanar(raw.data, raw.width, raw.height, 4, [3], max);
  if (meta?.exif) decoded.metadata.exif = meta.exif;
  if (meta?.icc) decoded.metadata.icc = meta.icc;
  return decoded;
}
