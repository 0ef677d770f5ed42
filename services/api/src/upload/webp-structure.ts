import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { ByteSource } from './range-reader.ts';

function damaged(why: string): PhotoEnhanceError {
  return new PhotoEnhanceError('CORRUPT_IMAGE', `The WebP file is truncated or damaged (${why})`, {
    details: { format: 'webp' },
  });
}

/** Chunks that describe the image (canvas, colour profile, metadata, animation): copied whole. */
const DESCRIPTIVE = new Set(['VP8X', 'ICCP', 'EXIF', 'XMP ', 'ANIM']);
/** Bitstream headers: the VP8 frame header (10 bytes) and the VP8L header (5 bytes) carry size and alpha. */
const BITSTREAM_HEAD: Record<string, number> = { 'VP8 ': 10, VP8L: 5, ALPH: 1 };
/** An animation frame: its 16-byte header, then its own ALPH/VP8/VP8L chunks. */
const FRAME_HEADER_BYTES = 16;

/**
 * libwebp (and so sharp) reads nothing from a WebP cut short, however early its header: a big WebP's header
 * is only readable from the whole file. Instead its chunk list is walked through `source` (ranged reads: chunk
 * headers, the descriptive chunks, the first bytes of the bitstream) and rebuilt without the pixels: every
 * descriptive chunk (VP8X, ICCP, EXIF with the orientation, XMP, ANIM), the first animation frame, and each
 * bitstream chunk cut to its header. In a VP8 frame header the first partition's length is set to zero, as
 * the chunk no longer holds it: libwebp checks it against the chunk size and reads no further for a header.
 */
export async function readWebpHeaderCopy(source: ByteSource): Promise<Buffer> {
  const { size } = source;
  if (size < 12) throw damaged('no RIFF header');
  const riff = await source.read(0, 12);
  const end = Math.min(size, riff.readUInt32LE(4) + 8);
  const out: Buffer[] = [];
  let framesKept = 0;

  /** Walks the chunks in [from, to), appending their copies to `into`. */
  const walk = async (from: number, to: number, into: Buffer[], nested: boolean): Promise<void> => {
    let at = from;
    while (at + 8 <= to) {
      const header = await source.read(at, 8);
      const fourcc = header.toString('latin1', 0, 4);
      const length = header.readUInt32LE(4);
      const dataAt = at + 8;
      if (dataAt + length > to) throw damaged(`chunk ${fourcc.trim()} runs past the end`);
      const head = BITSTREAM_HEAD[fourcc];
      if (DESCRIPTIVE.has(fourcc) && !nested) {
        into.push(chunk(fourcc, await source.read(dataAt, length)));
      } else if (head !== undefined) {
        const data = Buffer.from(await source.read(dataAt, Math.min(length, head)));
        if (fourcc === 'VP8 ' && data.length >= 3) {
          // Frame tag: bit 0 key frame, bits 1-3 version, bit 4 shown, bits 5-23 the first partition's length.
          const tag = data.readUIntLE(0, 3) & 0x1f;
          data.writeUIntLE(tag, 0, 3);
        }
        into.push(chunk(fourcc, data));
      } else if (fourcc === 'ANMF' && !nested && framesKept === 0 && length >= FRAME_HEADER_BYTES) {
        framesKept++;
        const frame: Buffer[] = [await source.read(dataAt, FRAME_HEADER_BYTES)];
        await walk(dataAt + FRAME_HEADER_BYTES, dataAt + length, frame, true);
        into.push(chunk(fourcc, Buffer.concat(frame)));
      }
      at = dataAt + length + (length % 2);
    }
  };
  await walk(12, end, out, false);
  const body = Buffer.concat(out);
  const header = Buffer.from(riff);
  header.writeUInt32LE(body.length + 4, 4);
  return Buffer.concat([header, body]);
}

function chunk(fourcc: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(fourcc, 0, 'latin1');
  header.writeUInt32LE(data.length, 4);
  return Buffer.concat([header, data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}
