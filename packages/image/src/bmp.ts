import { PhotoEnhanceError } from '@photoenhance/contracts';
import { decode as decodeBmpData } from 'bmp-ts';

/** The BMP header fields we rely on, validated against the file before any pixel is read. */
export interface BmpHeader {
  width: number;
  height: number;
  bitsPerPixel: number;
  compression: number;
  /** Stored top row first (negative height in the file). */
  topDown: boolean;
  hasAlpha: boolean;
}

const FILE_HEADER_BYTES = 14;
/** BITMAPINFOHEADER and its V2–V5 successors; the 12-byte OS/2 core header is not read by bmp-ts. */
const INFO_HEADER_SIZES = new Set([40, 52, 56, 108, 124]);
const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

function corrupt(message: string, details: Record<string, unknown>): PhotoEnhanceError {
  return new PhotoEnhanceError('CORRUPT_IMAGE', `Invalid BMP: ${message}`, { details });
}

/**
 * Reads and checks the header: dimensions, depth, compression, and that the pixel array the header
 * promises really is in the file. A lying header (huge size, short file) is rejected here, because
 * bmp-ts allocates width × height × 4 bytes up front and trusts the header while reading.
 */
export function readBmpHeader(buf: Buffer): BmpHeader {
  if (buf.length < FILE_HEADER_BYTES + 40) throw corrupt('file is shorter than its header', { bytes: buf.length });
  const dataOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  if (!INFO_HEADER_SIZES.has(headerSize)) {
    throw new PhotoEnhanceError('UNSUPPORTED_FORMAT', `BMP header size ${headerSize} is not supported`, {
      details: { headerSize },
    });
  }
  const width = buf.readInt32LE(18);
  const rawHeight = buf.readInt32LE(22);
  const planes = buf.readUInt16LE(26);
  const bitsPerPixel = buf.readUInt16LE(28);
  const compression = buf.readUInt32LE(30);
  const details = { width, height: rawHeight, bitsPerPixel, compression, bytes: buf.length };
  if (width <= 0 || rawHeight === 0 || rawHeight === -0x80000000)
    throw corrupt(`bad dimensions ${width}×${rawHeight}`, details);
  if (planes !== 1) throw corrupt(`planes is ${planes}, must be 1`, details);
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) throw corrupt(`unsupported depth ${bitsPerPixel} bits`, details);
  if (![BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS, BI_ALPHABITFIELDS].includes(compression)) {
    throw new PhotoEnhanceError(
      'UNSUPPORTED_FORMAT',
      `BMP compression ${compression} (JPEG/PNG in BMP) is not supported`,
      { details },
    );
  }
  if (dataOffset < FILE_HEADER_BYTES + headerSize || dataOffset >= buf.length)
    throw corrupt(`pixel data offset ${dataOffset} is outside the file`, details);
  const height = Math.abs(rawHeight);
  const isRle = compression === BI_RLE8 || compression === BI_RLE4;
  if (!isRle) {
    // Rows are padded to 4 bytes; tolerate a missing pad after the last row (some writers drop it).
    const rowBytes = Math.ceil((width * bitsPerPixel) / 8);
    const stride = Math.ceil(rowBytes / 4) * 4;
    const needed = dataOffset + stride * (height - 1) + rowBytes;
    if (needed > buf.length)
      throw corrupt(`header promises ${needed} bytes of pixels but the file has ${buf.length}`, { ...details, needed });
  }
  // Alpha exists only when a mask says where it is: in V3+ headers or BI_ALPHABITFIELDS.
  let alphaMask = 0;
  if (
    bitsPerPixel === 32 &&
    (headerSize >= 56 || compression === BI_ALPHABITFIELDS) &&
    (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS)
  ) {
    alphaMask = buf.readUInt32LE(FILE_HEADER_BYTES + 40 + 12);
  }
  return { width, height, bitsPerPixel, compression, topDown: rawHeight < 0, hasAlpha: alphaMask !== 0 };
}

/** Decodes to RGBA 8-bit, top row first. Call only after readBmpHeader and the pixel limit check. */
export function decodeBmp(
  buf: Buffer,
  header: BmpHeader,
): { width: number; height: number; rgba: Uint8Array; hasAlpha: boolean } {
  let rgba: Uint8Array;
  try {
    rgba = decodeBmpData(buf, { toRGBA: true }).data;
  } catch (cause) {
    // RLE streams are not length-checked up front; running off the end lands here.
    throw new PhotoEnhanceError('CORRUPT_IMAGE', 'Invalid BMP: pixel data could not be read', {
      cause,
      details: { width: header.width, height: header.height },
    });
  }
  let hasAlpha = header.hasAlpha;
  if (hasAlpha) {
    // Writers often declare an alpha mask and then store zeros: treat an all-transparent image as opaque.
    let anyVisible = false;
    for (let i = 3; i < rgba.length; i += 4) {
      if (rgba[i] !== 0) {
        anyVisible = true;
        break;
      }
    }
    hasAlpha = anyVisible;
  }
  return { width: header.width, height: header.height, rgba, hasAlpha };
}
