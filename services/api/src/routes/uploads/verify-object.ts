import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { ObjectInfo, Storage } from '@photoenhance/core';
import { checkOutputSize, type ProbeResult, probeImage, sniffContainer } from '@photoenhance/image';
import { assertImageComplete, type CompletenessCheck, completenessCheck } from '../../upload/completeness.ts';
import { finishStoredCheck } from '../../upload/finish-check.ts';

export interface ObjectLimits {
  /** Largest direct upload. */
  maxFileBytes: number;
  maxInputPixels: number;
  maxOutputPixels: number;
  /** Bytes the header is probed from (default 4 MiB). */
  prefixBytes?: number;
}
/** Enough for every supported header in practice (EXIF and ICC blocks before a JPEG's SOF included). */
const PREFIX_BYTES = 4 * 1024 * 1024;

/** The first `limit` bytes of an object (all of it when smaller); the rest is never downloaded. */
export async function readPrefix(storage: Pick<Storage, 'getStream'>, key: string, limit: number): Promise<Buffer> {
  const { body } = await storage.getStream(key);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(buf);
      length += buf.length;
      if (length >= limit) break;
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks, length).subarray(0, limit);
}

/** Streams the whole object through a format's incremental completeness check: one chunk in memory at a time. */
async function streamThroughCheck(
  storage: Pick<Storage, 'getStream'>,
  key: string,
  check: CompletenessCheck,
): Promise<void> {
  const { body } = await storage.getStream(key);
  try {
    for await (const chunk of body) check.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  } finally {
    body.destroy();
  }
  check.end();
}

/**
 * The checks a multipart upload gets, for an object the client PUT directly: size, sniffed format, header
 * pixel limits, completeness and the output size for `scale`, with bounded memory whatever the object's size.
 * The header is probed from the first 4 MiB; JPEG, PNG, WebP, GIF and HEIF/AVIF are then streamed through
 * their incremental completeness check (one chunk in memory at a time), and a TIFF's directories and strip
 * tables are read by ranged GETs (at most STRUCTURE_READ_BYTES). A header that is not in the prefix is probed
 * from a header-only copy (TIFF, GIF, WebP) or refused: nothing is ever read whole (finish-check.ts). The route caps
 * how many run at once (MAX_CONCURRENT_VERIFICATIONS).
 */
export async function verifyStoredImage(
  storage: Pick<Storage, 'getStream' | 'getRange'>,
  object: ObjectInfo,
  scale: number,
  limits: ObjectLimits,
): Promise<ProbeResult> {
  if (object.bytes === 0) throw new PhotoEnhanceError('EMPTY_FILE', 'The file is empty', { details: { bytes: 0 } });
  if (object.bytes > limits.maxFileBytes) {
    throw new PhotoEnhanceError(
      'FILE_TOO_LARGE',
      `The file is ${object.bytes} bytes; the limit is ${limits.maxFileBytes} bytes`,
      { details: { bytes: object.bytes, maxFileBytes: limits.maxFileBytes } },
    );
  }
  const probeLimits = { maxFileBytes: limits.maxFileBytes, maxInputPixels: limits.maxInputPixels };
  const prefix = await readPrefix(storage, object.key, Math.min(limits.prefixBytes ?? PREFIX_BYTES, object.bytes));
  const whole = prefix.length >= object.bytes;
  let probe: ProbeResult | undefined;
  try {
    probe = await probeImage(prefix, probeLimits);
  } catch (err) {
    // A header past the prefix is looked for with bounded reads below; anything else refuses now.
    if (whole || !(err instanceof PhotoEnhanceError) || err.code !== 'CORRUPT_IMAGE') throw err;
  }

  if (whole && probe) {
    await assertImageComplete(prefix, probe.format);
  } else {
    // probeImage refuses an unknown container itself (UNSUPPORTED_FORMAT), so there is one here.
    const format = probe?.format ?? sniffContainer(prefix) ?? 'unknown';
    const check = completenessCheck(format);
    if (check) await streamThroughCheck(storage, object.key, check);
    const file = { storage, key: object.key, size: object.bytes, head: prefix, format, probe, check };
    probe = await finishStoredCheck(file, probeLimits);
  }
  checkOutputSize(probe.width, probe.height, scale, { maxOutputPixels: limits.maxOutputPixels });
  return { ...probe, bytes: object.bytes };
}
