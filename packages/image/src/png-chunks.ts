import { crc32, deflateSync } from 'node:zlib';

const PNG_SIGNATURE_BYTES = 8;
/** length(4) + "IHDR"(4) + 13 data bytes + crc(4): IHDR is always the first chunk. */
const IHDR_END = PNG_SIGNATURE_BYTES + 4 + 4 + 13 + 4;

function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return chunk;
}

/** iCCP: profile name, NUL, compression method 0 (zlib), compressed profile. */
export function iccpChunk(icc: Buffer): Buffer {
  return pngChunk('iCCP', Buffer.concat([Buffer.from('ICC profile\0\0', 'latin1'), deflateSync(icc)]));
}

/** eXIf holds the bare TIFF structure, without the JPEG "Exif\0\0" prefix. */
export function exifChunk(exif: Buffer): Buffer {
  const bare = exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? exif.subarray(6) : exif;
  return pngChunk('eXIf', bare);
}

/**
 * Inserts ancillary chunks right after IHDR. Both iCCP and eXIf must precede IDAT (and iCCP PLTE),
 * which this position guarantees. sharp has no API to attach raw EXIF/ICC bytes to raw pixels, so
 * metadata travels through a PNG that libvips then reads like any other input.
 */
export function insertPngChunks(png: Buffer, chunks: readonly Buffer[]): Buffer {
  if (png.length < IHDR_END || png.toString('latin1', 12, 16) !== 'IHDR')
    throw new Error('insertPngChunks: not a PNG with a leading IHDR');
  return Buffer.concat([png.subarray(0, IHDR_END), ...chunks, png.subarray(IHDR_END)]);
}
