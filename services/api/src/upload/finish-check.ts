import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { Storage } from '@photoenhance/core';
import { type ImageLimits, type ProbeResult, probeImage } from '@photoenhance/image';
import type { CompletenessCheck, HeaderCopyCheck } from './completeness.ts';
import { createRangeReader, STRUCTURE_READ_BYTES } from './range-reader.ts';
import { readTiffStructure } from './tiff-structure.ts';
import { readWebpHeaderCopy } from './webp-structure.ts';

/**
 * How far into a file its header is looked for (JPEG, PNG, HEIF/AVIF, BMP): one bounded ranged read when the
 * streamed head was shorter. A header past it is refused, never looked for in the whole object.
 */
export const HEADER_SEARCH_BYTES = 4 * 1024 * 1024;

export interface StoredFile {
  storage: Pick<Storage, 'getRange'>;
  key: string;
  /** The stored object's size. */
  size: number;
  /** Its first bytes, already in memory (streamed or read as a prefix); shorter than `size`. */
  head: Buffer;
  /** The probed format, or the sniffed container when the header could not be read from `head`. */
  format: string;
  /** The header read from `head`, when it could be. */
  probe: ProbeResult | undefined;
  /** The streaming check the whole file already went through (undefined for TIFF). */
  check: CompletenessCheck | undefined;
}

const keepsHeader = (check: CompletenessCheck | undefined): check is HeaderCopyCheck =>
  check !== undefined && 'headerCopy' in check;

/**
 * What a file bigger than its streamed head still needs once it has gone through its streaming check, with
 * bounded reads only (never the whole object): a TIFF's directories and strip tables are walked by ranged GETs
 * (at most STRUCTURE_READ_BYTES), and a header that did not fit in the head is probed from a header-only copy
 * (TIFF, GIF, JPEG, WebP: its chunk list is walked the same way) or from the first HEADER_SEARCH_BYTES. Returns the probe; CORRUPT_IMAGE when the file is cut
 * short or its header is not where it can be found, UNSUPPORTED_FORMAT when its structures are too large.
 */
export async function finishStoredCheck(file: StoredFile, limits: Partial<ImageLimits>): Promise<ProbeResult> {
  const reader = (what: string) =>
    createRangeReader(file.storage, file.key, file.size, { known: file.head, budget: STRUCTURE_READ_BYTES, what });
  if (file.format === 'tiff') {
    const copy = await readTiffStructure(reader('TIFF directories'));
    return file.probe ?? withSize(await probeImage(copy, limits), file.size);
  }
  if (file.probe) return file.probe;
  if (keepsHeader(file.check)) return withSize(await probeImage(file.check.headerCopy(), limits), file.size);
  if (file.format === 'webp') {
    return withSize(await probeImage(await readWebpHeaderCopy(reader('WebP chunks')), limits), file.size);
  }
  if (file.head.length < HEADER_SEARCH_BYTES && file.size > file.head.length) {
    const longer = await file.storage.getRange(file.key, 0, Math.min(file.size, HEADER_SEARCH_BYTES) - 1);
    try {
      return withSize(await probeImage(longer, limits), file.size);
    } catch (err) {
      if (!(err instanceof PhotoEnhanceError) || err.code !== 'CORRUPT_IMAGE') throw err;
    }
  }
  const searched = Math.max(file.head.length, Math.min(file.size, HEADER_SEARCH_BYTES));
  throw new PhotoEnhanceError(
    'CORRUPT_IMAGE',
    `The ${file.format.toUpperCase()} header could not be read from the first ${searched} bytes of the file`,
    { details: { format: file.format, searchedBytes: searched } },
  );
}

const withSize = (probe: ProbeResult, bytes: number): ProbeResult => ({ ...probe, bytes });
