/** Every container the engine reads. */
export const INPUT_FORMATS = ['jpeg', 'png', 'webp', 'tiff', 'bmp', 'heic', 'heif', 'avif', 'gif'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** Containers identified from magic bytes; HEIF-family files are told apart later (brand + codec). */
export type SniffedContainer = Exclude<InputFormat, 'heic' | 'heif' | 'avif'> | 'isobmff';

function startsWith(buf: Buffer, bytes: readonly number[], offset = 0): boolean {
  if (buf.length < offset + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[offset + i] !== bytes[i]) return false;
  return true;
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/**
 * Identifies the container from its magic bytes, never from a file name or client MIME type
 * (a text file renamed .jpg must not reach a decoder). Undefined when it is none we read.
 */
export function sniffContainer(buf: Buffer): SniffedContainer | undefined {
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(buf, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(buf, ascii('RIFF')) && startsWith(buf, ascii('WEBP'), 8)) return 'webp';
  // Classic TIFF (42) and BigTIFF (43), both byte orders.
  if (startsWith(buf, [0x49, 0x49, 0x2a, 0x00]) || startsWith(buf, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(buf, [0x49, 0x49, 0x2b, 0x00]) || startsWith(buf, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  if (startsWith(buf, ascii('GIF87a')) || startsWith(buf, ascii('GIF89a'))) return 'gif';
  if (startsWith(buf, ascii('BM')) && buf.length >= 26) return 'bmp';
  if (startsWith(buf, ascii('ftyp'), 4)) return 'isobmff';
  return undefined;
}

const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs']);
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['mif1', 'msf1', 'mif2', 'miaf']);

/** Major and compatible brands of an ISO-BMFF `ftyp` box. */
export function readFtypBrands(buf: Buffer): string[] {
  if (buf.length < 16) return [];
  const size = Math.min(buf.readUInt32BE(0), buf.length);
  const brands = [buf.toString('latin1', 8, 12)];
  for (let off = 16; off + 4 <= size; off += 4) brands.push(buf.toString('latin1', off, off + 4));
  return brands;
}

/**
 * Which HEIF flavour a file is: by codec when the header told us (libheif reports hevc / av1),
 * else by brand. Undefined when the brands name no still-image HEIF (e.g. an MP4 video).
 */
export function classifyHeif(
  brands: readonly string[],
  compression: string | undefined,
): 'heic' | 'heif' | 'avif' | undefined {
  const isHeifFamily = brands.some((b) => HEIC_BRANDS.has(b) || AVIF_BRANDS.has(b) || HEIF_BRANDS.has(b));
  if (!isHeifFamily) return undefined;
  if (compression === 'av1') return 'avif';
  if (compression === 'hevc') return HEIC_BRANDS.has(brands[0] ?? '') ? 'heic' : 'heif';
  if (AVIF_BRANDS.has(brands[0] ?? '')) return 'avif';
  if (HEIC_BRANDS.has(brands[0] ?? '')) return 'heic';
  return 'heif';
}
