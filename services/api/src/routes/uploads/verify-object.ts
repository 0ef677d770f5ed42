import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { ObjectInfo, Storage } from '@photoenhance/core';
import { checkOutputSize, type ProbeResult, probeImage } from '@photoenhance/image';
import {
  assertImageComplete,
  type CompletenessCheck,
  completenessCheck,
  needsWholeFileCheck,
} from '../../upload/completeness.ts';

export interface ObjectLimits {
  /** Largest direct upload. */
  maxFileBytes: number;
  /** The largest object ever read whole (GIF, TIFF, a header past the prefix): bigger ones are refused. */
  fullReadBytes: number;
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
 * pixel limits, completeness and the output size for `scale`, with bounded memory. The header is probed from
 * the first 4 MiB; JPEG, PNG, WebP and HEIF/AVIF are then streamed through their incremental completeness check
 * (never held whole). Only GIF and TIFF (no streaming check: TIFF directories point anywhere) and files whose
 * header lies past the prefix are read whole, and only up to `fullReadBytes` (MAX_UPLOAD_BYTES): a bigger one
 * is refused rather than held in memory. The route caps how many run at once (MAX_CONCURRENT_VERIFICATIONS).
 */
export async function verifyStoredImage(
  storage: Pick<Storage, 'getStream'>,
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
    // A header past the prefix is read from the whole object below; anything else refuses now.
    if (whole || !(err instanceof PhotoEnhanceError) || err.code !== 'CORRUPT_IMAGE') throw err;
  }

  if (whole && probe) {
    assertImageComplete(prefix, probe.format);
  } else if (probe && !needsWholeFileCheck(probe.format)) {
    const check = completenessCheck(probe.format);
    if (check) await streamThroughCheck(storage, object.key, check);
  } else {
    if (object.bytes > limits.fullReadBytes) {
      const what = probe ? probe.format.toUpperCase() : `file whose header lies past its first ${prefix.length} bytes`;
      throw new PhotoEnhanceError(
        'FILE_TOO_LARGE',
        `A ${what} is checked whole, which is done up to ${limits.fullReadBytes} bytes; this one is ${object.bytes} bytes (send it as JPEG, PNG or WebP, or upload it through POST /api/v1/enhance)`,
        { details: { bytes: object.bytes, maxWholeCheckBytes: limits.fullReadBytes } },
      );
    }
    const bytes = await readPrefix(storage, object.key, object.bytes);
    probe ??= await probeImage(bytes, probeLimits);
    assertImageComplete(bytes, probe.format);
  }
  checkOutputSize(probe.width, probe.height, scale, { maxOutputPixels: limits.maxOutputPixels });
  return { ...probe, bytes: object.bytes };
}
