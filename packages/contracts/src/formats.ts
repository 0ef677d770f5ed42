/**
 * The image formats PhotoEnhance knows, in one table: what it reads, what it writes, MIME types and file
 * extensions. Every list elsewhere (HTTP enums, CLI choices, content types, direct-upload types, output file
 * names, the web app's format menu and messages) is derived from here, so adding an output format is one
 * edit in this file plus its encoder. No zod here: the browser bundle imports this module
 * (`@photoenhance/contracts/formats`).
 */
export const IMAGE_FORMATS = {
  jpeg: { label: 'JPEG', mime: 'image/jpeg', ext: 'jpg', extensions: ['jpg', 'jpeg'], read: true, write: true },
  png: { label: 'PNG', mime: 'image/png', ext: 'png', extensions: ['png'], read: true, write: true },
  webp: { label: 'WebP', mime: 'image/webp', ext: 'webp', extensions: ['webp'], read: true, write: true },
  // Written only to keep a TIFF input's format (16-bit); never requested explicitly.
  tiff: { label: 'TIFF', mime: 'image/tiff', ext: 'tiff', extensions: ['tif', 'tiff'], read: true, write: false },
  bmp: { label: 'BMP', mime: 'image/bmp', ext: 'bmp', extensions: ['bmp'], read: true, write: false },
  heic: { label: 'HEIC', mime: 'image/heic', ext: 'heic', extensions: ['heic'], read: true, write: false },
  heif: { label: 'HEIF', mime: 'image/heif', ext: 'heif', extensions: ['heif'], read: true, write: false },
  avif: { label: 'AVIF', mime: 'image/avif', ext: 'avif', extensions: ['avif'], read: true, write: false },
  gif: { label: 'GIF', mime: 'image/gif', ext: 'gif', extensions: ['gif'], read: true, write: false },
} as const;

export type ImageFormatName = keyof typeof IMAGE_FORMATS;
type Writable = {
  [K in ImageFormatName]: (typeof IMAGE_FORMATS)[K]['write'] extends true ? K : never;
}[ImageFormatName];

const names = Object.keys(IMAGE_FORMATS) as ImageFormatName[];

/** Formats a client may ask for (the engine may also keep a TIFF input as TIFF). */
export const REQUESTABLE_OUTPUT_FORMATS = names.filter((f) => IMAGE_FORMATS[f].write) as [Writable, ...Writable[]];
export type RequestableOutputFormat = Writable;
/** What `output.format` accepts: `auto` keeps the input's format where it can be written. */
export const OUTPUT_FORMATS = ['auto', ...REQUESTABLE_OUTPUT_FORMATS] as ['auto', ...Writable[]];
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
/** Formats an encoded result can have. */
export type EncodedFormat = Writable | 'tiff';

/** MIME types of every readable format (direct uploads may declare these). */
export const INPUT_MIME_TYPES = names.map((f) => IMAGE_FORMATS[f].mime) as [string, ...string[]];
/** Display names of every readable format, in table order (JPEG, PNG, WebP, …). */
export const INPUT_FORMAT_LABELS: readonly string[] = names
  .filter((f) => IMAGE_FORMATS[f].read)
  .map((f) => IMAGE_FORMATS[f].label);

/** The MIME type of a known format; octet-stream for anything else. */
export function mimeTypeFor(format: string): string {
  return format in IMAGE_FORMATS ? IMAGE_FORMATS[format as ImageFormatName].mime : 'application/octet-stream';
}

/** The file extension results of this format get (jpeg → jpg). */
export function extensionFor(format: string): string {
  return format in IMAGE_FORMATS ? IMAGE_FORMATS[format as ImageFormatName].ext : format;
}

/** The requestable output format a file extension names (".JPG" → jpeg), or undefined. */
export function outputFormatForExtension(extension: string): RequestableOutputFormat | undefined {
  const ext = extension.replace(/^\./, '').toLowerCase();
  return REQUESTABLE_OUTPUT_FORMATS.find((f) => (IMAGE_FORMATS[f].extensions as readonly string[]).includes(ext));
}

/** Video types a direct upload (POST /api/v1/videos/uploads) may declare; ffprobe decides at the start. */
export const VIDEO_UPLOAD_CONTENT_TYPES = ['video/mp4', 'video/quicktime', 'video/webm', 'video/x-matroska'] as const;
