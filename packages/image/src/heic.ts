import { PhotoEnhanceError } from '@photoenhance/contracts';

/**
 * Decodes the primary HEVC image of a HEIC/HEIF file to RGBA 8-bit. sharp's prebuilt libheif has no
 * HEVC decoder (patents), so this uses heic-decode (libheif compiled to wasm, works offline);
 * libheif applies the file's irot/imir transforms itself. Loaded lazily: the wasm bundle is a few MB
 * and only phone uploads need it. The work is synchronous inside wasm, so it blocks the event loop
 * for the duration of the decode (workers only; the API just probes headers).
 */
export async function decodeHeicRgba(buf: Buffer): Promise<{ width: number; height: number; rgba: Uint8Array }> {
  const { default: decode } = await import('heic-decode');
  try {
    const img = await decode({ buffer: buf });
    return {
      width: img.width,
      height: img.height,
      rgba: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength),
    };
  } catch (cause) {
    throw new PhotoEnhanceError('CORRUPT_IMAGE', 'The HEIC image could not be decoded', { cause });
  }
}
