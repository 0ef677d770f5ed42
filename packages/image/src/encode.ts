import {
  type EncodedFormat,
  JPEG_OPTIMISE_MAX_PIXELS,
  type OUTPUT_FORMATS,
  PhotoEnhanceError,
} from '@photoenhance/contracts';
import sharp, { type Sharp } from 'sharp';
import type { ImageMetadata } from './decode.ts';
import { resetExifOrientation } from './exif.ts';
import type { IntegerSamples, InterleavedImage, PlanarImage } from './planar.ts';
import { flattenPlanar, maxSampleValue, planarLuma, planarToInterleaved } from './planar.ts';
import { exifChunk, iccpChunk, insertPngChunks } from './png-chunks.ts';

export type OutputFormat = EncodedFormat;

export interface EncodeOptions {
  format: (typeof OUTPUT_FORMATS)[number];
  /** 1–100, used by JPEG and WebP. */
  quality: number;
  /** Carry EXIF (orientation reset to 1) and, when the source had a profile, an sRGB ICC profile. */
  keepMetadata: boolean;
}

/** What encode needs; a DecodedImage (with processed planes swapped in) fits. */
export interface EncodableImage {
  rgb: PlanarImage;
  alpha?: PlanarImage;
  bitDepth: 8 | 16;
  isGrey: boolean;
  sourceFormat: string;
  metadata: ImageMetadata;
}

export interface EncodedImage {
  data: Buffer;
  format: OutputFormat;
  width: number;
  height: number;
}

/** Largest side each encoder can write (WebP: 14-bit sizes; JPEG: 16-bit). */
const MAX_SIDE: Record<OutputFormat, number> = { jpeg: 65_535, webp: 16_383, png: 2_147_483_647, tiff: 4_294_967_295 };

/** Flattening colour for alpha images written as JPEG. */
const JPEG_BACKGROUND = [1, 1, 1] as const;

/**
 * 'auto' keeps the source container where it can carry the result:
 * - jpeg, png, webp, tiff → the same format (16-bit stays 16-bit for png/tiff);
 * - bmp, gif → png: lossless graphics-style sources, and both may carry transparency;
 * - heic, heif, avif → jpeg: camera photos, where PNG would be 5–10× larger and browsers cannot show
 *   HEIC; png instead when the image has alpha, which JPEG cannot hold;
 * - a jpeg/webp result too large for that encoder falls back to png.
 */
export function resolveOutputFormat(
  requested: EncodeOptions['format'],
  sourceFormat: string,
  hasAlpha: boolean,
  width: number,
  height: number,
): OutputFormat {
  let format: OutputFormat;
  if (requested !== 'auto') {
    format = requested;
  } else if (sourceFormat === 'jpeg' || sourceFormat === 'png' || sourceFormat === 'webp' || sourceFormat === 'tiff') {
    format = sourceFormat;
  } else if (sourceFormat === 'heic' || sourceFormat === 'heif' || sourceFormat === 'avif') {
    format = hasAlpha ? 'png' : 'jpeg';
  } else {
    format = 'png';
  }
  if (format === 'jpeg' && hasAlpha && requested === 'auto') format = 'png';
  const side = Math.max(width, height);
  if (side > MAX_SIDE[format]) {
    if (requested === 'auto') return 'png';
    throw new PhotoEnhanceError(
      'OUTPUT_TOO_LARGE',
      `${format.toUpperCase()} cannot store an image ${width}×${height}; the largest side it allows is ${MAX_SIDE[format]} px`,
      {
        details: { format, width, height, maxSide: MAX_SIDE[format] },
      },
    );
  }
  return format;
}

let srgbProfile: Promise<Buffer> | undefined;
/** libvips' built-in sRGB profile, read once from a 1×1 image it tagged. */
function getSrgbProfile(): Promise<Buffer> {
  srgbProfile ??= sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .withIccProfile('srgb')
    .png()
    .toBuffer()
    .then((png) => sharp(png).metadata())
    .then((m) => {
      if (!m.icc) throw new Error('libvips returned no sRGB profile');
      return m.icc;
    });
  return srgbProfile;
}

function applyFormat(
  pipeline: Sharp,
  format: OutputFormat,
  quality: number,
  pngCompression: number,
  pixels = 0,
): Sharp {
  switch (format) {
    case 'jpeg':
      // Restored faces and fine detail suffer from chroma subsampling; keep full chroma at high quality.
      return pipeline.jpeg({
        quality,
        chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0',
        optimiseCoding: pixels <= JPEG_OPTIMISE_MAX_PIXELS,
      });
    case 'webp':
      return pipeline.webp({ quality });
    case 'png':
      return pipeline.png({ compressionLevel: pngCompression });
    case 'tiff':
      return pipeline.tiff({ compression: 'deflate', predictor: 'horizontal' });
  }
}

function assertPlanes(img: EncodableImage): void {
  const { rgb, alpha } = img;
  if (rgb.channels !== 3 || rgb.data.length !== rgb.width * rgb.height * 3 || rgb.width < 1 || rgb.height < 1) {
    throw new PhotoEnhanceError(
      'INTERNAL',
      `encodeImage needs a 3-plane RGB image, got ${rgb.channels} planes of ${rgb.width}×${rgb.height}`,
    );
  }
  if (
    alpha &&
    (alpha.channels !== 1 ||
      alpha.width !== rgb.width ||
      alpha.height !== rgb.height ||
      alpha.data.length !== rgb.width * rgb.height)
  ) {
    throw new PhotoEnhanceError(
      'INTERNAL',
      `encodeImage: alpha plane ${alpha.width}×${alpha.height}×${alpha.channels} does not match RGB ${rgb.width}×${rgb.height}`,
    );
  }
}

/**
 * Writes planar float RGB (+ alpha) to a file: greyscale sources as one channel, 16-bit sources as
 * 16-bit PNG/TIFF, alpha re-attached (flattened onto white for an explicit JPEG).
 */
export async function encodeImage(img: EncodableImage, opts: EncodeOptions): Promise<EncodedImage> {
  assertPlanes(img);
  const { width, height } = img.rgb;
  const format = resolveOutputFormat(opts.format, img.sourceFormat, img.alpha !== undefined, width, height);
  const bitDepth: 8 | 16 = img.bitDepth === 16 && (format === 'png' || format === 'tiff') ? 16 : 8;

  let colour = img.rgb;
  let alpha = img.alpha;
  if (alpha && format === 'jpeg') {
    colour = flattenPlanar(colour, alpha, JPEG_BACKGROUND);
    alpha = undefined;
  }
  if (img.isGrey) colour = planarLuma(colour);
  const planes = alpha ? [colour, alpha] : [colour];
  const channels = (colour.channels + (alpha ? 1 : 0)) as 1 | 2 | 3 | 4;
  const samples =
    bitDepth === 16 ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels);
  planarToInterleaved(planes, samples, maxSampleValue(bitDepth));
  return writeSamples({ width, height, channels, bitDepth, data: samples }, img, format, opts);
}

/** What `encodeInterleaved` needs: integer RGB or RGBA at the source's depth, and the source's facts. */
export interface EncodableSamples {
  /** 3 (RGB) or 4 (RGBA, straight alpha) channels. Reused in place: the caller must not read it afterwards. */
  pixels: InterleavedImage;
  isGrey: boolean;
  sourceFormat: string;
  metadata: ImageMetadata;
}

/**
 * `encodeImage` for a result already held as integers (the engine's output: 1 or 2 bytes a sample instead
 * of 4). The flatten, grey and depth conversions run in place in the caller's buffer, so a 200 MP result
 * is never copied before libvips reads it.
 */
export async function encodeInterleaved(img: EncodableSamples, opts: EncodeOptions): Promise<EncodedImage> {
  const { width, height, channels, bitDepth: sourceDepth } = img.pixels;
  if (
    (channels !== 3 && channels !== 4) ||
    img.pixels.data.length !== width * height * channels ||
    width < 1 ||
    height < 1
  )
    throw new PhotoEnhanceError(
      'INTERNAL',
      `encodeInterleaved needs RGB or RGBA samples, got ${channels} channels for ${width}×${height}`,
    );
  const hasAlpha = channels === 4;
  const format = resolveOutputFormat(opts.format, img.sourceFormat, hasAlpha, width, height);
  const bitDepth: 8 | 16 = sourceDepth === 16 && (format === 'png' || format === 'tiff') ? 16 : 8;
  const data = img.pixels.data;
  const max = maxSampleValue(sourceDepth);
  const flatten = hasAlpha && format === 'jpeg';
  const outChannels = (img.isGrey ? 1 : 3) + (hasAlpha && !flatten ? 1 : 0);
  // One pass, front to back: pixel i is written at or before where it was read, so in place is safe.
  const pixels = width * height;
  for (let i = 0, s = 0, o = 0; i < pixels; i++, s += channels) {
    let r = data[s] as number;
    let g = data[s + 1] as number;
    let b = data[s + 2] as number;
    const a = hasAlpha ? (data[s + 3] as number) : max;
    if (flatten) {
      // Onto white (JPEG_BACKGROUND), straight alpha.
      const k = a / max;
      r = r * k + max * (1 - k);
      g = g * k + max * (1 - k);
      b = b * k + max * (1 - k);
    }
    if (img.isGrey) {
      data[o++] = Math.round(0.2126 * r + 0.7152 * g + 0.0722 * b);
    } else {
      data[o++] = Math.round(r);
      data[o++] = Math.round(g);
      data[o++] = Math.round(b);
    }
    if (hasAlpha && !flatten) data[o++] = a;
  }
  const count = pixels * outChannels;
  let samples: IntegerSamples = data.subarray(0, count);
  if (sourceDepth === 16 && bitDepth === 8) {
    // 16 → 8 bits in the same memory: byte i is written after sample i (bytes 2i, 2i+1) was read.
    const bytes = new Uint8Array(data.buffer, data.byteOffset, count);
    for (let i = 0; i < count; i++) bytes[i] = Math.round((data[i] as number) / 257);
    samples = bytes;
  }
  return writeSamples({ width, height, channels: outChannels, bitDepth, data: samples }, img, format, opts);
}

/** The libvips end of both encoders: interleaved samples (already grey/flattened/at the output depth) → file. */
async function writeSamples(
  pixels: InterleavedImage,
  img: { isGrey: boolean; metadata: ImageMetadata },
  format: OutputFormat,
  opts: EncodeOptions,
): Promise<EncodedImage> {
  const { width, height, bitDepth, data: samples } = pixels;
  const channels = pixels.channels as 1 | 2 | 3 | 4;
  const colourspace = bitDepth === 16 ? (img.isGrey ? 'grey16' : 'rgb16') : img.isGrey ? 'b-w' : 'srgb';

  const metadataChunks: Buffer[] = [];
  if (opts.keepMetadata) {
    const exif = img.metadata.exif && resetExifOrientation(img.metadata.exif);
    if (exif) metadataChunks.push(exifChunk(exif));
    // Pixels were converted to sRGB on decode, so the honest profile to carry is sRGB, not the
    // source's (tagging sRGB pixels as, say, Adobe RGB would shift every colour). Grey output has
    // no RGB profile to carry.
    if (img.metadata.icc && !img.isGrey) metadataChunks.push(iccpChunk(await getSrgbProfile()));
  }

  try {
    const fromRaw = () =>
      sharp(samples, { raw: { width, height, channels }, limitInputPixels: false }).toColourspace(colourspace);
    let data: Buffer;
    if (metadataChunks.length === 0) {
      data = await applyFormat(fromRaw(), format, opts.quality, 6, width * height).toBuffer();
    } else {
      // sharp cannot attach raw EXIF/ICC bytes to raw pixels: write them into a PNG (uncompressed
      // unless PNG is the target) and let libvips carry them into the requested container.
      const png = insertPngChunks(
        await fromRaw()
          .png({ compressionLevel: format === 'png' ? 6 : 0 })
          .toBuffer(),
        metadataChunks,
      );
      data =
        format === 'png'
          ? png
          : await applyFormat(
              sharp(png, { limitInputPixels: false }).keepMetadata().toColourspace(colourspace),
              format,
              opts.quality,
              6,
              width * height,
            ).toBuffer();
    }
    return { data, format, width, height };
  } catch (cause) {
    throw new PhotoEnhanceError('INTERNAL', `Encoding the ${format} output failed`, {
      cause,
      details: { format, width, height },
    });
  }
}
