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

/** The streaming check for a sniffed format, or undefined for formats left to the worker's full decode. */
export function completenessCheck(format: string): CompletenessCheck | undefined {
  if (format === 'jpeg') return jpegCheck();
  if (format === 'png') return pngCheck();
  if (format === 'webp') return webpCheck();
  return undefined;
}

function checkWhole(check: CompletenessCheck, buf: Buffer): void {
  check.push(buf);
  check.end();
}

export const assertJpegComplete = (buf: Buffer): void => checkWhole(jpegCheck(), buf);
export const assertPngComplete = (buf: Buffer): void => checkWhole(pngCheck(), buf);
export const assertWebpComplete = (buf: Buffer): void => checkWhole(webpCheck(), buf);

export function assertImageComplete(buf: Buffer, format: string): void {
  const check = completenessCheck(format);
  if (check) checkWhole(check, buf);
}
