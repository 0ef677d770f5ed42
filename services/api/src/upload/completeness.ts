import { PhotoEnhanceError } from '@photoenhance/contracts';
import { bufferSource } from './range-reader.ts';
import { readTiffStructure } from './tiff-structure.ts';

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

/** A check that also keeps the file's header without its pixels, for a probe when no prefix shows it. */
export interface HeaderCopyCheck extends CompletenessCheck {
  /** After end(): a small file with the same header (see each check). */
  headerCopy(): Buffer;
}

/**
 * The most a header copy may hold: the check runs on every byte of an upload, so a file made of nothing but
 * header structures (thousands of tables or extensions) must not make it grow with the file. A file whose
 * header needs more is refused (UNSUPPORTED_FORMAT) if its copy is ever needed.
 */
export const HEADER_COPY_LIMIT = 2 * 1024 * 1024;

function boundedCopy(format: string) {
  const parts: Buffer[] = [];
  let bytes = 0;
  let overflow = false;
  return {
    bytes: () => bytes,
    keep(more: Buffer) {
      if (overflow) return;
      if (bytes + more.length > HEADER_COPY_LIMIT) {
        overflow = true;
        parts.length = 0;
        return;
      }
      parts.push(Buffer.from(more));
      bytes += more.length;
    },
    result(tail: Buffer): Buffer {
      if (overflow) {
        throw new PhotoEnhanceError(
          'UNSUPPORTED_FORMAT',
          `The ${format} file's header structures take more than ${HEADER_COPY_LIMIT} bytes; files like that are not accepted`,
          { details: { format, maxHeaderBytes: HEADER_COPY_LIMIT } },
        );
      }
      return Buffer.concat([...parts, tail]);
    },
  };
}

/** The JPEG header copy keeps application segments (EXIF, ICC…) only while it is under this size. */
const JPEG_HEADER_COPY_BYTES = 1024 * 1024;

/**
 * Walks JPEG segments and entropy-coded data until EOI (FFD9). On the way it keeps the header up to the first
 * scan: libjpeg reads every segment before SOS for a header, so metadata padding (comment or application
 * segments) can push it past any prefix. The copy is SOI, the segments before the first SOS without comments
 * (application segments only while the copy is under JPEG_HEADER_COPY_BYTES), the SOS segment and EOI.
 */
export function jpegCheck(): HeaderCopyCheck {
  let state: JpegState = 'soi0';
  let pos = 0; // absolute offset of chunk[0]
  let markerAt = 0;
  let marker = 0;
  let lengthHigh = 0;
  let skip = 0;
  const copy = boundedCopy('JPEG');
  copy.keep(Buffer.from([0xff, 0xd8]));
  let copying = false;
  let headerDone = false;
  const afterSegment = (): JpegState => {
    if (marker === 0xda) headerDone = true;
    copying = false;
    return marker === 0xda ? 'entropy' : 'marker';
  };
  const keep = (bytes: Buffer) => copy.keep(bytes);
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
            const application = marker >= 0xe0 && marker <= 0xef;
            copying =
              !headerDone && marker !== 0xfe && (!application || copy.bytes() + length <= JPEG_HEADER_COPY_BYTES);
            if (copying) keep(Buffer.from([0xff, marker, lengthHigh, b]));
            skip = length - 2;
            state = skip > 0 ? 'skip' : afterSegment();
            i++;
            break;
          }
          case 'skip': {
            const n = Math.min(skip, chunk.length - i);
            if (copying) keep(chunk.subarray(i, i + n));
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
    headerCopy() {
      return copy.result(Buffer.from([0xff, 0xd9]));
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

/**
 * A minimal LZW stream standing in for a frame's pixels in the GIF header copy: one sub-block holding a clear
 * code and an end code (codes of minCodeSize + 1 bits, packed from the low bit), then the block terminator.
 */
function emptyLzw(minCodeSize: number): Buffer {
  const bits = minCodeSize + 1;
  const clear = 1 << minCodeSize;
  const value = clear | ((clear + 1) << bits);
  const length = Math.ceil((2 * bits) / 8);
  const data = Buffer.alloc(length);
  for (let k = 0; k < length; k++) data[k] = (value >> (8 * k)) & 0xff;
  return Buffer.concat([Buffer.from([minCodeSize, length]), data, Buffer.from([0])]);
}

/** The header copy keeps at most this many bytes (frames past it are left out; size and bands come first). */
const GIF_HEADER_COPY_BYTES = 256 * 1024;

/**
 * The GIF check's header copy: the file with every frame's image data replaced by an empty LZW stream — the
 * screen descriptor, colour tables and graphic-control extensions (transparency) of the first frames, a few
 * KiB that sharp probes exactly like the file.
 */
export type GifCheck = HeaderCopyCheck;

type GifState =
  | 'screen'
  | 'globalTable'
  | 'block'
  | 'label'
  | 'descriptor'
  | 'localTable'
  | 'lzw'
  | 'size'
  | 'data'
  | 'done';

/**
 * Walks GIF blocks as the bytes stream in (extensions and image descriptors with their data sub-blocks) until
 * the trailer (3B): the walk is sequential, so an upload is checked while it streams, never read back.
 */
export function gifCheck(): GifCheck {
  let state: GifState = 'screen';
  const fixed = Buffer.alloc(13); // the screen descriptor, then an image descriptor (10 bytes)
  let have = 0;
  let skip = 0;
  let pos = 0;
  let blockAt = 0;
  /** Whether the sub-blocks being walked go into the header copy (extensions do, image data does not). */
  let copying = false;
  const copy = boundedCopy('GIF');
  /** Past GIF_HEADER_COPY_BYTES no more frames are kept (the first ones carry what the probe needs). */
  let copyFull = false;
  const keep = (bytes: Buffer) => copy.keep(bytes);
  const colourTable = (flags: number) => (flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0);
  return {
    push(chunk) {
      let i = 0;
      while (i < chunk.length && state !== 'done') {
        switch (state) {
          case 'screen':
          case 'descriptor': {
            const need = state === 'screen' ? 13 : 10;
            const n = Math.min(need - have, chunk.length - i);
            chunk.copy(fixed, have, i, i + n);
            have += n;
            i += n;
            if (have < need) break;
            have = 0;
            if (state === 'screen') {
              keep(fixed.subarray(0, 13));
              skip = colourTable(fixed[10] as number);
              state = skip > 0 ? 'globalTable' : 'block';
            } else {
              // A frame's descriptor: kept while the copy has room, with its table and an empty image.
              copyFull ||= copy.bytes() > GIF_HEADER_COPY_BYTES;
              if (!copyFull) keep(fixed.subarray(0, 10));
              skip = colourTable(fixed[9] as number);
              state = skip > 0 ? 'localTable' : 'lzw';
            }
            break;
          }
          case 'globalTable':
          case 'localTable':
          case 'data': {
            const n = Math.min(skip, chunk.length - i);
            const kept = state === 'globalTable' || (state === 'localTable' ? !copyFull : copying);
            if (kept) keep(chunk.subarray(i, i + n));
            skip -= n;
            i += n;
            if (skip === 0) state = state === 'globalTable' ? 'block' : state === 'localTable' ? 'lzw' : 'size';
            break;
          }
          case 'block': {
            const block = chunk[i] as number;
            blockAt = pos + i;
            i++;
            if (block === 0x3b) state = 'done';
            else if (block === 0x21) state = 'label';
            else if (block === 0x2c) state = 'descriptor';
            else throw truncated('GIF', `unknown block 0x${block.toString(16)} at byte ${blockAt}`);
            if (block === 0x2c) fixed[have++] = block;
            break;
          }
          case 'label': {
            const label = chunk[i] as number;
            i++;
            // Graphic-control (transparency) and application (loop count) extensions go into the copy.
            copying = !copyFull && (label === 0xf9 || label === 0xff);
            if (copying) keep(Buffer.from([0x21, label]));
            state = 'size';
            break;
          }
          case 'lzw':
            if (!copyFull) keep(emptyLzw(Math.min(Math.max(chunk[i] as number, 2), 11)));
            copying = false;
            i++;
            state = 'size';
            break;
          case 'size': {
            const size = chunk[i] as number;
            if (copying) keep(chunk.subarray(i, i + 1));
            i++;
            if (size === 0) state = 'block';
            else {
              skip = size;
              state = 'data';
            }
            break;
          }
        }
      }
      pos += chunk.length;
    },
    end() {
      if (state === 'done') return;
      if (state === 'screen') throw truncated('GIF', 'no screen descriptor');
      if (state === 'block') throw truncated('GIF', 'no trailer');
      throw truncated('GIF', 'data runs past the end');
    },
    headerCopy() {
      return copy.result(Buffer.from([0x3b]));
    },
  };
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

/**
 * The streaming check for a format (a probed one, or a sniffed container when the header is not read yet), or
 * undefined for TIFF (checked through its directories: readTiffStructure) and the formats left to the worker.
 */
export function completenessCheck(format: string): CompletenessCheck | undefined {
  if (format === 'jpeg') return jpegCheck();
  if (format === 'png') return pngCheck();
  if (format === 'webp') return webpCheck();
  if (format === 'heic' || format === 'heif' || format === 'avif' || format === 'isobmff') return isobmffCheck();
  if (format === 'gif') return gifCheck();
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

export const assertGifComplete = (buf: Buffer): void => checkWhole(gifCheck(), buf);

/** A whole file in memory (small uploads): the format's streaming check, or the TIFF directory walk. */
export async function assertImageComplete(buf: Buffer, format: string): Promise<void> {
  if (format === 'tiff') {
    await readTiffStructure(bufferSource(buf));
    return;
  }
  const check = completenessCheck(format);
  if (check) checkWhole(check, buf);
}
