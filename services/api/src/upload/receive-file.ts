import { Readable } from 'node:stream';
import { isPhotoEnhanceError, mimeTypeFor, PhotoEnhanceError } from '@photoenhance/contracts';
import type { Storage } from '@photoenhance/core';
import { type ProbeResult, probeImage, sniffContainer } from '@photoenhance/image';
import type { Semaphore } from '../http/semaphore.ts';
import { assertImageComplete, completenessCheck } from './completeness.ts';
import { finishStoredCheck } from './finish-check.ts';

/**
 * The image header is probed from this many first bytes before anything is stored (JPEG, PNG, HEIF/AVIF and
 * BMP headers fit: EXIF and ICC blocks before a JPEG's SOF included). Formats whose header sharp cannot read
 * from a prefix (WebP, GIF, TIFF with its directory at the end) are probed once stored, with bounded reads
 * only (finish-check.ts).
 */
export const HEAD_BYTES = 1024 * 1024;

export interface ReceiveLimits {
  maxFileBytes: number;
  maxInputPixels: number;
  /**
   * Caps the bounded read-backs (a TIFF's directories, a header past the prefix) running at once; each holds at
   * most STRUCTURE_READ_BYTES or HEADER_SEARCH_BYTES (finish-check.ts), never the whole file.
   */
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
 * through a size counter and the format's completeness check (GIF included) into storage.upload. Only a TIFF's
 * directories, or a header that lay past the head, are read back afterwards, by bounded ranged GETs. Any
 * refusal aborts the upload and removes what was written, and the rest of the part is drained so the form
 * parser goes on.
 */
export async function receiveFile(
  source: Readable,
  key: string,
  storage: Pick<Storage, 'upload' | 'delete' | 'getRange'>,
  limits: ReceiveLimits,
): Promise<ReceivedFile> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let total = 0;
  let ended = false;
  let started = false;
  /** The part of a chunk that did not fit in the head (an in-process body may arrive as one big chunk). */
  let rest: Buffer | undefined;
  const next = async (): Promise<Buffer | undefined> => {
    if (rest) {
      const chunk = rest;
      rest = undefined;
      return chunk;
    }
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
      let chunk = await next();
      if (!chunk) break;
      if (headLength + chunk.length > HEAD_BYTES) {
        rest = chunk.subarray(HEAD_BYTES - headLength);
        chunk = chunk.subarray(0, HEAD_BYTES - headLength);
      }
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
      await assertImageComplete(head, probe.format);
    }

    const sniffed = probe?.format ?? sniffContainer(head);
    // A header past the head still gets its format's streaming check, by the sniffed container.
    const check = sniffed ? completenessCheck(sniffed) : undefined;
    check?.push(head);
    async function* body(): AsyncGenerator<Buffer> {
      yield head;
      for (let chunk = await next(); chunk; chunk = await next()) {
        check?.push(chunk);
        yield chunk;
      }
      check?.end();
    }
    started = true;
    await storage.upload(key, Readable.from(body(), { objectMode: false }), {
      contentType: sniffed && sniffed !== 'isobmff' ? mimeTypeFor(sniffed) : 'application/octet-stream',
    });

    if (!wholeInHead && (!probe || probe.format === 'tiff')) {
      // A TIFF's directories point anywhere, and a header past the head is probed from a bounded read.
      const format = sniffed ?? 'unknown';
      const file = { storage, key, size: total, head, format, probe, check };
      const finish = () => finishStoredCheck(file, probeLimits);
      probe = await (limits.readBack ? limits.readBack.run(finish) : finish());
    }
    if (!probe) throw new PhotoEnhanceError('CORRUPT_IMAGE', 'The image header could not be read');
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
