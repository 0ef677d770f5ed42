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

export function assertImageComplete(buf: Buffer, format: string): void {
  if (format === 'jpeg') assertJpegComplete(buf);
  else if (format === 'png') assertPngComplete(buf);
  else if (format === 'webp') assertWebpComplete(buf);
}
