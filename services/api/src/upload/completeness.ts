import { PhotoEnhanceError } from '@photoenhance/contracts';

/**
 * Structural "is the whole file there" checks for the common formats, without decoding pixels: the image
 * probe reads headers only, and a truncated upload would otherwise be accepted and fail later in a worker.
 * Each check is fed the bytes in order as they stream in (push) and gives its verdict at the end (end), so a
 * streamed upload is checked without ever being held whole. Formats without a check are left to the worker.
 */
export interface CompletenessCheck {
  push(chunk: Buffer): void;
  /** Throws CORRUPT_IMAGE when the file stopped short. */
  end(): void;
}

function truncated(format: string, why: string): PhotoEnhanceError {
  return new PhotoEnhanceError('CORRUPT_IMAGE', `The ${format} file is truncated or damaged (${why})`, {
    details: { format },
  });
}

const isRestart = (b: number) => b >= 0xd0 && b <= 0xd7;

type JpegState =
  | 'soi0'
  | 'soi1'
  | 'marker'
  | 'markerByte'
  | 'len0'
  | 'len1'
  | 'skip'
  | 'entropy'
  | 'entropyFF'
  | 'done';

/** Walks JPEG segments and entropy-coded data until EOI (FFD9). */
export function jpegCheck(): CompletenessCheck {
  let state: JpegState = 'soi0';
  let pos = 0; // absolute offset of chunk[0]
  let markerAt = 0;
  let marker = 0;
  let lengthHigh = 0;
  let skip = 0;
  const afterSegment = (): JpegState => (marker === 0xda ? 'entropy' : 'marker');
  return {
    push(chunk) {
      let i = 0;
      while (i < chunk.length) {
        const b = chunk[i] as number;
        switch (state) {
          case 'soi0':
          case 'soi1':
            if (b !== (state === 'soi0' ? 0xff : 0xd8)) throw truncated('JPEG', 'no start marker');
            state = state === 'soi0' ? 'soi1' : 'marker';
            i++;
            break;
          case 'marker':
            if (b !== 0xff) throw truncated('JPEG', `bad marker at byte ${pos + i}`);
            markerAt = pos + i;
            state = 'markerByte';
            i++;
            break;
          case 'markerByte':
            i++;
            if (b === 0xff)
              markerAt = pos + i - 1; // fill bytes before a marker
            else if (b === 0xd9) state = 'done';
            else if (b === 0x01 || isRestart(b))
              state = 'marker'; // markers without a length
            else {
              marker = b;
              state = 'len0';
            }
            break;
          case 'len0':
            lengthHigh = b;
            state = 'len1';
            i++;
            break;
          case 'len1': {
            const length = (lengthHigh << 8) | b;
            if (length < 2) throw truncated('JPEG', `bad segment length at byte ${markerAt}`);
            skip = length - 2;
            state = skip > 0 ? 'skip' : afterSegment();
            i++;
            break;
          }
          case 'skip': {
            const n = Math.min(skip, chunk.length - i);
            i += n;
            skip -= n;
            if (skip === 0) state = afterSegment();
            break;
          }
          case 'entropy': {
            // 0xFF is always followed by 00 (stuffing) or a restart marker until the next real marker.
            const ff = chunk.indexOf(0xff, i);
            if (ff < 0) i = chunk.length;
            else {
              i = ff + 1;
              state = 'entropyFF';
            }
            break;
          }
          case 'entropyFF':
            if (b === 0x00 || isRestart(b)) {
              state = 'entropy';
              i++;
            } else if (b === 0xff) i++;
            else {
              markerAt = pos + i - 1;
              state = 'markerByte'; // this byte is the marker: read it there
            }
            break;
          case 'done':
            i = chunk.length;
            break;
        }
      }
      pos += chunk.length;
    },
    end() {
      if (state === 'done') return;
      if (pos < 4 || state === 'soi0' || state === 'soi1') throw truncated('JPEG', 'no start marker');
      throw truncated('JPEG', 'no end-of-image marker');
    },
  };
}

/** Walks PNG chunks until IEND. */
export function pngCheck(): CompletenessCheck {
  let signature = 8;
  const header = Buffer.alloc(8);
  let headerFill = 0;
  let type = '';
  let skip = 0;
  let done = false;
  return {
    push(chunk) {
      let i = 0;
      while (i < chunk.length && !done) {
        if (signature > 0) {
          const n = Math.min(signature, chunk.length - i);
          signature -= n;
          i += n;
        } else if (skip > 0) {
          const n = Math.min(skip, chunk.length - i);
          skip -= n;
          i += n;
          if (skip === 0 && type === 'IEND') done = true;
        } else {
          const n = Math.min(8 - headerFill, chunk.length - i);
          chunk.copy(header, headerFill, i, i + n);
          headerFill += n;
          i += n;
          if (headerFill === 8) {
            headerFill = 0;
            type = header.toString('latin1', 4, 8);
            skip = header.readUInt32BE(0) + 4; // data + CRC
          }
        }
      }
    },
    end() {
      if (done) return;
      if (skip > 0) throw truncated('PNG', `chunk ${type} runs past the end`);
      throw truncated('PNG', 'no IEND chunk');
    },
  };
}

/** RIFF length field against the bytes actually received. */
export function webpCheck(): CompletenessCheck {
  const head = Buffer.alloc(12);
  let total = 0;
  return {
    push(chunk) {
      if (total < 12) chunk.copy(head, total, 0, Math.min(chunk.length, 12 - total));
      total += chunk.length;
    },
    end() {
      if (total < 12) throw truncated('WebP', 'no RIFF header');
      const declared = head.readUInt32LE(4) + 8;
      if (declared > total) throw truncated('WebP', `${total} of ${declared} bytes`);
    },
  };
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
export function isobmffCheck(): CompletenessCheck {
  const header = Buffer.alloc(16);
  let pos = 0; // absolute offset of the next byte pushed
  let boxAt = 0; // where the next top-level box starts
  let have = 0; // bytes of its header collected so far
  let toEnd = false; // a box of size 0 runs to the end of the file
  let lastBoxAt = 0;
  return {
    push(chunk) {
      let i = 0;
      while (i < chunk.length && !toEnd) {
        if (pos + i < boxAt) {
          i = Math.min(chunk.length, boxAt - pos);
          continue;
        }
        const need = have >= 8 && header.readUInt32BE(0) === 1 ? 16 : 8;
        const take = Math.min(need - have, chunk.length - i);
        chunk.copy(header, have, i, i + take);
        have += take;
        i += take;
        if (have < 8 || (header.readUInt32BE(0) === 1 && have < 16)) continue;
        const small = header.readUInt32BE(0);
        const type = header.toString('latin1', 4, 8);
        if (small === 0) {
          toEnd = true;
          break;
        }
        const size = small === 1 ? Number(header.readBigUInt64BE(8)) : small;
        if (size < 8) throw truncated('HEIF', `box ${type} has a bad size`);
        lastBoxAt = boxAt;
        boxAt += size;
        have = 0;
      }
      pos += chunk.length;
    },
    end() {
      if (toEnd) return;
      if (have > 0) throw truncated('HEIF', `box header cut short at byte ${boxAt}`);
      if (pos < boxAt) throw truncated('HEIF', `the box that starts at byte ${lastBoxAt} runs past the end`);
    },
  };
}

/** Formats whose check needs the whole file at once (TIFF directories point anywhere; GIF is walked whole). */
export function needsWholeFileCheck(format: string): boolean {
  return format === 'gif' || format === 'tiff';
}

/** The streaming check for a sniffed format, or undefined for formats left to the worker's full decode. */
export function completenessCheck(format: string): CompletenessCheck | undefined {
  if (format === 'jpeg') return jpegCheck();
  if (format === 'png') return pngCheck();
  if (format === 'webp') return webpCheck();
  if (format === 'heic' || format === 'heif' || format === 'avif') return isobmffCheck();
  return undefined;
}

function checkWhole(check: CompletenessCheck, buf: Buffer): void {
  check.push(buf);
  check.end();
}

export const assertJpegComplete = (buf: Buffer): void => checkWhole(jpegCheck(), buf);
export const assertPngComplete = (buf: Buffer): void => checkWhole(pngCheck(), buf);
export const assertWebpComplete = (buf: Buffer): void => checkWhole(webpCheck(), buf);

export const assertIsobmffComplete = (buf: Buffer): void => checkWhole(isobmffCheck(), buf);

export function assertImageComplete(buf: Buffer, format: string): void {
  if (format === 'gif') assertGifComplete(buf);
  else if (format === 'tiff') assertTiffComplete(buf);
  const check = completenessCheck(format);
  if (check) checkWhole(check, buf);
}
