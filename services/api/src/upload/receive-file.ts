import { Readable } from 'node:stream';
import { isPhotoEnhanceError, mimeTypeFor, PhotoEnhanceError } from '@photoenhance/contracts';
import type { Storage } from '@photoenhance/core';
import { type ProbeResult, probeImage, sniffContainer } from '@photoenhance/image';
import type { Semaphore } from '../http/semaphore.ts';
import { assertImageComplete, completenessCheck, needsWholeFileCheck } from './completeness.ts';

/**
 * The image header is probed from this many first bytes before anything is stored (JPEG, PNG, HEIF/AVIF and
 * BMP headers fit: EXIF and ICC blocks before a JPEG's SOF included). Formats whose header sharp cannot read
 * from a prefix (WebP, GIF, TIFF with its directory at the end) are probed once stored, from the object.
 */
export const HEAD_BYTES = 1024 * 1024;

export interface ReceiveLimits {
  maxFileBytes: number;
  maxInputPixels: number;
  /** Caps the read-backs (GIF, TIFF, a header past the prefix) running at once; each holds up to maxFileBytes. */
  readBack?: Semaphore;
}

export interface ReceivedFile {
  key: string;
  bytes: number;
  probe: ProbeResult;
}

function tooLarge(maxFileBytes: number): PhotoEnhanceError {
  // Counted as it streams: the client is told the limit, not a size nobody read to the end.
  return new PhotoEnhanceError('FILE_TOO_LARGE', `The file is larger than the limit of ${maxFileBytes} bytes`, {
    details: { maxFileBytes },
  });
}

/**
 * One multipart file part straight to storage under `key`, never held whole: the first HEAD_BYTES are sniffed
 * and probed (format, declared size against the pixel limit) before the upload starts, then the rest streams
 * through a size counter and the format's completeness check into storage.upload. Any refusal aborts the
 * upload and removes what was written, and the rest of the part is drained so the form parser goes on.
 */
export async function receiveFile(
  source: Readable,
  key: string,
  storage: Pick<Storage, 'upload' | 'delete' | 'getBuffer'>,
  limits: ReceiveLimits,
): Promise<ReceivedFile> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let total = 0;
  let ended = false;
  let started = false;
  const next = async (): Promise<Buffer | undefined> => {
    const read = await chunks.next();
    if (read.done) {
      ended = true;
      return undefined;
    }
    total += read.value.length;
    if (total > limits.maxFileBytes) throw tooLarge(limits.maxFileBytes);
    return read.value;
  };

  try {
    const headParts: Buffer[] = [];
    let headLength = 0;
    while (headLength < HEAD_BYTES) {
      const chunk = await next();
      if (!chunk) break;
      headParts.push(chunk);
      headLength += chunk.length;
    }
    if (headLength === 0) throw new PhotoEnhanceError('EMPTY_FILE', 'The file is empty', { details: { bytes: 0 } });
    const head = Buffer.concat(headParts, headLength);
    const probeLimits = { maxFileBytes: limits.maxFileBytes, maxInputPixels: limits.maxInputPixels };

    let probe: ProbeResult | undefined;
    try {
      probe = await probeImage(head, probeLimits);
    } catch (err) {
      // A header that does not fit in the prefix is read from the stored object below; anything else refuses now.
      if (ended || !isPhotoEnhanceError(err) || err.code !== 'CORRUPT_IMAGE') throw err;
    }
    const wholeInHead = ended;
    if (wholeInHead && probe) {
      // Small enough to be all here: checked like before streaming, and stored in one write.
      assertImageComplete(head, probe.format);
    }

    const check = probe ? completenessCheck(probe.format) : undefined;
    check?.push(head);
    async function* body(): AsyncGenerator<Buffer> {
      yield head;
      for (let chunk = await next(); chunk; chunk = await next()) {
        check?.push(chunk);
        yield chunk;
      }
      check?.end();
    }
    const sniffed = probe?.format ?? sniffContainer(head);
    started = true;
    await storage.upload(key, Readable.from(body(), { objectMode: false }), {
      contentType: sniffed && sniffed !== 'isobmff' ? mimeTypeFor(sniffed) : 'application/octet-stream',
    });

    const readBack = <T>(fn: () => Promise<T>): Promise<T> => (limits.readBack ? limits.readBack.run(fn) : fn());
    if (!probe) {
      // The slow path: the header lies past the prefix, so read the object back once (bounded by maxFileBytes).
      probe = await readBack(async () => {
        const whole = await storage.getBuffer(key);
        const found = await probeImage(whole, probeLimits);
        assertImageComplete(whole, found.format);
        return found;
      });
    } else if (!wholeInHead && needsWholeFileCheck(probe.format)) {
      // GIF and TIFF have no streaming check (TIFF directories point anywhere): read back once, bounded.
      const format = probe.format;
      await readBack(async () => assertImageComplete(await storage.getBuffer(key), format));
    }
    return { key, bytes: total, probe: { ...probe, bytes: total } };
  } catch (err) {
    if (started) await storage.delete(key).catch(() => undefined);
    // Let the parser move on to the next part (or the request end): what is left of this one is read and
    // discarded through the same iterator (resume() does nothing while an iterator listens for 'readable').
    if (!ended) void drain(chunks);
    throw err;
  }
}

async function drain(chunks: AsyncIterator<Buffer>): Promise<void> {
  try {
    while (!(await chunks.next()).done);
  } catch {
    // The part or the request failed: nothing left to discard.
  }
}
