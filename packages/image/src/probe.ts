import { PhotoEnhanceError } from '@photoenhance/contracts';
import sharp, { type Metadata } from 'sharp';
import { type BmpHeader, readBmpHeader } from './bmp.ts';
import { classifyHeif, type InputFormat, readFtypBrands, sniffContainer } from './formats.ts';
import { assertFileSize, assertInputPixels, type ImageLimits, resolveLimits } from './limits.ts';

export interface ProbeResult {
  format: InputFormat;
  /** Displayed size, i.e. after EXIF orientation (and HEIF irot) is applied. */
  width: number;
  height: number;
  /** Stored channels including alpha (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or CMYK). */
  channels: number;
  hasAlpha: boolean;
  bitDepth: 8 | 16;
  isGrey: boolean;
  /** EXIF Orientation tag (1–8) when present. */
  orientation?: number;
  hasIcc: boolean;
  bytes: number;
}

/** What decode needs beyond the public probe: the header it came from. */
export interface Inspection {
  probe: ProbeResult;
  /** sharp's header read (every format but BMP). */
  meta?: Metadata;
  bmp?: BmpHeader;
  /** HEIF payload codec: hevc needs the wasm decoder, av1 decodes in sharp. */
  heifCodec?: string;
}

const SHARP_FORMAT: Record<string, InputFormat> = {
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  tiff: 'tiff',
  gif: 'gif',
  heif: 'heif',
};

function headerError(format: string, cause: unknown): PhotoEnhanceError {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/exceeds pixel limit/i.test(message)) {
    // libheif and libvips refuse absurd header sizes themselves; same answer as our own check.
    return new PhotoEnhanceError('TOO_MANY_PIXELS', `The ${format} image is larger than the decoder allows`, { cause });
  }
  return new PhotoEnhanceError('CORRUPT_IMAGE', `The ${format} header could not be read`, {
    cause,
    details: { format },
  });
}

async function readSharpHeader(buf: Buffer, format: string): Promise<Metadata> {
  try {
    // Header only: libvips reads dimensions, depth and metadata without decoding pixels. Our own
    // pixel limit is applied right after, with a clearer message than sharp's.
    return await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw headerError(format, cause);
  }
}

function depthOf(meta: Metadata): 8 | 16 {
  return meta.depth === 'uchar' || meta.depth === 'char' ? 8 : 16;
}

/**
 * Reads what the header says and enforces the byte and pixel limits. Cheap enough for the API to
 * call on every upload: no pixel data is decoded for any format.
 */
export async function inspectImage(input: Buffer, limits: ImageLimits): Promise<Inspection> {
  assertFileSize(input.length, limits);
  const container = sniffContainer(input);
  if (!container) {
    throw new PhotoEnhanceError(
      'UNSUPPORTED_FORMAT',
      'The file is not an image in a supported format (JPEG, PNG, WebP, TIFF, BMP, HEIC/HEIF, AVIF, GIF)',
      {
        details: { bytes: input.length },
      },
    );
  }

  if (container === 'bmp') {
    const bmp = readBmpHeader(input);
    assertInputPixels(bmp.width, bmp.height, limits);
    const probe: ProbeResult = {
      format: 'bmp',
      width: bmp.width,
      height: bmp.height,
      channels: bmp.hasAlpha ? 4 : 3,
      hasAlpha: bmp.hasAlpha,
      bitDepth: 8,
      isGrey: false,
      hasIcc: false,
      bytes: input.length,
    };
    return { probe, bmp };
  }

  let format: InputFormat;
  let heifCodec: string | undefined;
  let brands: string[] = [];
  if (container === 'isobmff') {
    brands = readFtypBrands(input);
    if (!classifyHeif(brands, undefined)) {
      throw new PhotoEnhanceError(
        'UNSUPPORTED_FORMAT',
        `ISO media file with brands ${brands.join(', ')} is not a HEIF/AVIF image`,
        {
          details: { brands },
        },
      );
    }
  }
  const meta = await readSharpHeader(input, container === 'isobmff' ? 'HEIF' : container);
  if (container === 'isobmff') {
    heifCodec = meta.compression;
    format = classifyHeif(brands, heifCodec) ?? 'heif';
  } else {
    format = container;
  }
  if (SHARP_FORMAT[meta.format] !== (container === 'isobmff' ? 'heif' : container)) {
    throw new PhotoEnhanceError('CORRUPT_IMAGE', `The file starts like ${container} but decodes as ${meta.format}`, {
      details: { format: container },
    });
  }

  // libheif applies irot/imir and reports displayed dimensions; EXIF orientation inside HEIF must
  // not be applied on top (the HEIF spec makes the transform boxes authoritative).
  const isHeif = container === 'isobmff';
  const width = isHeif ? meta.width : meta.autoOrient.width;
  const height = isHeif ? meta.height : meta.autoOrient.height;
  assertInputPixels(width, height, limits);
  const probe: ProbeResult = {
    format,
    width,
    height,
    channels: meta.channels,
    hasAlpha: meta.hasAlpha,
    // The HEVC path (heic-decode) always yields 8 bits per channel.
    bitDepth: isHeif && heifCodec === 'hevc' ? 8 : depthOf(meta),
    isGrey: meta.space === 'b-w' || meta.space === 'grey16',
    hasIcc: meta.hasProfile,
    bytes: input.length,
  };
  if (meta.orientation !== undefined && !isHeif) probe.orientation = meta.orientation;
  return heifCodec === undefined ? { probe, meta } : { probe, meta, heifCodec };
}

/**
 * Identifies an upload and checks it against the limits from its header alone (no full decode).
 * Throws EMPTY_FILE, FILE_TOO_LARGE, UNSUPPORTED_FORMAT, CORRUPT_IMAGE or TOO_MANY_PIXELS.
 */
export async function probeImage(input: Buffer, limits?: Partial<ImageLimits>): Promise<ProbeResult> {
  return (await inspectImage(input, resolveLimits(limits))).probe;
}
