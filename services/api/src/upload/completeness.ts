import { PhotoEnhanceError } from '@photoenhance/contracts';

/**
 * Structural "is the whole file there" checks for the common formats, without decoding pixels: the image
 * probe reads headers only, and a truncated upload would otherwise be accepted and fail later in a worker.
 * Linear scans over the bytes; formats without a check here are left to the worker's full decode.
 */

function truncated(format: string, why: string): PhotoEnhanceError {
  return new PhotoEnhanceError('CORRUPT_IMAGE', `The ${format} file is truncated or damaged (${why})`, {
    details: { format },
  });
}

/** Walks JPEG segments and entropy-coded data until EOI (FFD9). */
export function assertJpegComplete(buf: Buffer): void {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) throw truncated('JPEG', 'no start marker');
  let i = 2;
  while (i < buf.length) {
    if (buf[i] !== 0xff) throw truncated('JPEG', `bad marker at byte ${i}`);
    let marker = buf[i + 1];
    while (marker === 0xff) {
      i++; // fill bytes before a marker
      marker = buf[i + 1];
    }
    if (marker === undefined) break;
    if (marker === 0xd9) return; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (i + 3 >= buf.length) break;
    const length = buf.readUInt16BE(i + 2);
    if (length < 2) throw truncated('JPEG', `bad segment length at byte ${i}`);
    i += 2 + length;
    if (i > buf.length) break;
    if (marker === 0xda) {
      // Entropy-coded data: 0xFF is always followed by 00 (stuffing) or a restart marker until the next real marker.
      while (i < buf.length - 1) {
        if (buf[i] === 0xff) {
          const next = buf[i + 1] as number;
          if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7) && next !== 0xff) break;
        }
        i++;
      }
      if (i >= buf.length - 1) break;
    }
  }
  throw truncated('JPEG', 'no end-of-image marker');
}

/** Walks PNG chunks until IEND. */
export function assertPngComplete(buf: Buffer): void {
  let i = 8; // signature
  while (i + 8 <= buf.length) {
    const length = buf.readUInt32BE(i);
    const type = buf.toString('latin1', i + 4, i + 8);
    const end = i + 12 + length;
    if (end > buf.length) throw truncated('PNG', `chunk ${type} runs past the end`);
    if (type === 'IEND') return;
    i = end;
  }
  throw truncated('PNG', 'no IEND chunk');
}

/** RIFF length field against the bytes actually received. */
export function assertWebpComplete(buf: Buffer): void {
  if (buf.length < 12) throw truncated('WebP', 'no RIFF header');
  const declared = buf.readUInt32LE(4) + 8;
  if (declared > buf.length) throw truncated('WebP', `${buf.length} of ${declared} bytes`);
}

/** Walks GIF blocks (extensions and image descriptors with their data sub-blocks) until the trailer (3B). */
export function assertGifComplete(buf: Buffer): void {
  if (buf.length < 13) throw truncated('GIF', 'no screen descriptor');
  const colourTable = (flags: number) => (flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0);
  let i = 13 + colourTable(buf[10] as number);
  // Data sub-blocks: a length byte, that many bytes, until a zero length.
  const skipSubBlocks = () => {
    for (;;) {
      const size = buf[i];
      if (size === undefined) throw truncated('GIF', 'data runs past the end');
      i += 1 + size;
      if (size === 0) return;
    }
  };
  while (i < buf.length) {
    const block = buf[i];
    if (block === 0x3b) return;
    if (block === 0x21) {
      i += 2; // introducer + label
      skipSubBlocks();
    } else if (block === 0x2c) {
      if (i + 10 > buf.length) break;
      i += 10 + colourTable(buf[i + 9] as number) + 1; // descriptor, local table, LZW minimum code size
      skipSubBlocks();
    } else {
      throw truncated('GIF', `unknown block 0x${(block as number).toString(16)} at byte ${i}`);
    }
  }
  throw truncated('GIF', 'no trailer');
}

/**
 * Every directory (IFD) of a TIFF, every value stored out of line (JPEG tables, colour maps…) and every strip
 * or tile must lie inside the file: libvips decodes a TIFF cut short without complaint, filling in the rest.
 */
export function assertTiffComplete(buf: Buffer): void {
  if (buf.length < 8) throw truncated('TIFF', 'no header');
  const le = buf[0] === 0x49;
  const big = (le ? buf.readUInt16LE(2) : buf.readUInt16BE(2)) === 43;
  const u16 = (at: number) => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const u64 = (at: number) => Number(le ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at));
  const inside = (at: number, bytes: number) => at >= 0 && bytes >= 0 && at + bytes <= buf.length;
  // Bytes per value of each field type (TIFF 6.0 + BigTIFF); other types are skipped, as the spec says.
  const SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };
  Object.assign(SIZES, { 13: 4, 16: 8, 17: 8, 18: 8 });
  const countBytes = big ? 8 : 2;
  const entryBytes = big ? 20 : 12;
  const inline = big ? 8 : 4;
  /** Where an entry's values are, and how many bytes they take. */
  const valuesOf = (entry: number) => {
    const type = u16(entry + 2);
    const count = big ? u64(entry + 4) : u32(entry + 4);
    const size = SIZES[type] ?? 0;
    const valueAt = entry + (big ? 12 : 8);
    const at = count * size <= inline ? valueAt : big ? u64(valueAt) : u32(valueAt);
    return { type, count, size, at };
  };
  const numbers = (entry: number): number[] => {
    const { count, size, at } = valuesOf(entry);
    const read = (k: number) =>
      size === 1
        ? (buf[at + k] as number)
        : size === 2
          ? u16(at + 2 * k)
          : size === 4
            ? u32(at + 4 * k)
            : u64(at + 8 * k);
    return Array.from({ length: count }, (_, k) => read(k));
  };
  let ifd = big ? u64(8) : u32(4);
  const seen = new Set<number>();
  while (ifd !== 0) {
    if (seen.has(ifd) || seen.size > 64) throw truncated('TIFF', 'image directories loop');
    seen.add(ifd);
    if (!inside(ifd, countBytes)) throw truncated('TIFF', 'image directory past the end');
    const n = big ? u64(ifd) : u16(ifd);
    if (!inside(ifd, countBytes + n * entryBytes + inline)) throw truncated('TIFF', 'image directory cut short');
    const entries = new Map<number, number>();
    for (let k = 0; k < n; k++) {
      const entry = ifd + countBytes + k * entryBytes;
      const { size, count, at } = valuesOf(entry);
      if (size > 0 && !inside(at, count * size)) throw truncated('TIFF', `field ${u16(entry)} runs past the end`);
      entries.set(u16(entry), entry);
    }
    for (const [offsetsTag, countsTag] of [
      [273, 279], // StripOffsets, StripByteCounts
      [324, 325], // TileOffsets, TileByteCounts
    ] as const) {
      const offsets = entries.get(offsetsTag);
      const counts = entries.get(countsTag);
      if (offsets === undefined || counts === undefined) continue;
      const lengths = numbers(counts);
      numbers(offsets).forEach((start, k) => {
        if (!inside(start, lengths[k] ?? 0)) throw truncated('TIFF', `image data ${k} runs past the end`);
      });
    }
    const next = ifd + countBytes + n * entryBytes;
    ifd = big ? u64(next) : u32(next);
  }
}

/** ISO-BMFF (HEIC/HEIF/AVIF): the top-level boxes, image data (mdat) included, fill the file exactly. */
export function assertIsobmffComplete(buf: Buffer): void {
  let i = 0;
  while (i < buf.length) {
    if (i + 8 > buf.length) throw truncated('HEIF', `box header cut short at byte ${i}`);
    let size = buf.readUInt32BE(i);
    const type = buf.toString('latin1', i + 4, i + 8);
    if (size === 1) {
      if (i + 16 > buf.length) throw truncated('HEIF', `box ${type} cut short`);
      size = Number(buf.readBigUInt64BE(i + 8));
    } else if (size === 0) {
      return; // the last box runs to the end of the file
    }
    if (size < 8) throw truncated('HEIF', `box ${type} has a bad size`);
    if (i + size > buf.length) throw truncated('HEIF', `box ${type} runs past the end`);
    i += size;
  }
}

export function assertImageComplete(buf: Buffer, format: string): void {
  if (format === 'jpeg') assertJpegComplete(buf);
  else if (format === 'png') assertPngComplete(buf);
  else if (format === 'webp') assertWebpComplete(buf);
  else if (format === 'gif') assertGifComplete(buf);
  else if (format === 'tiff') assertTiffComplete(buf);
  else if (format === 'heic' || format === 'heif' || format === 'avif') assertIsobmffComplete(buf);
}
