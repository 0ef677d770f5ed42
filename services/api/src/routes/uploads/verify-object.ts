import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { ObjectInfo, Storage } from '@photoenhance/core';
import { checkOutputSize, type ProbeResult, probeImage } from '@photoenhance/image';
import { assertImageComplete } from '../../upload/completeness.ts';

export interface ObjectLimits {
  /** Largest direct upload. */
  maxFileBytes: number;
  /** Objects up to this size are read whole and checked like a multipart upload (completeness included). */
  fullReadBytes: number;
  maxInputPixels: number;
  maxOutputPixels: number;
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

/**
 * The checks a multipart upload gets, for an object the client PUT directly: size, sniffed format, header
 * pixel limits and the output size for `scale`. Objects small enough are read whole (and checked for
 * truncation); bigger ones are probed from a prefix, falling back to the whole object when the header does
 * not fit in it (a TIFF may keep its directory at the end).
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
  let probe: ProbeResult;
  if (object.bytes <= limits.fullReadBytes) {
    const bytes = await readPrefix(storage, object.key, object.bytes);
    probe = await probeImage(bytes, probeLimits);
    assertImageComplete(bytes, probe.format);
  } else {
    const prefix = await readPrefix(storage, object.key, PREFIX_BYTES);
    try {
      probe = await probeImage(prefix, probeLimits);
    } catch (err) {
      if (!(err instanceof PhotoEnhanceError) || err.code !== 'CORRUPT_IMAGE') throw err;
      probe = await probeImage(await readPrefix(storage, object.key, object.bytes), probeLimits);
    }
  }
  checkOutputSize(probe.width, probe.height, scale, { maxOutputPixels: limits.maxOutputPixels });
  return { ...probe, bytes: object.bytes };
}
