import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { Storage } from '@photoenhance/core';

/**
 * Random access to a stored object through ranged GETs, for checks that need a few structures of a big file
 * (a TIFF's directories and strip tables, which may lie anywhere in it) and never its pixels. Reads are
 * rounded to BLOCK_BYTES so neighbouring small reads (an IFD, then its out-of-line values) cost one request;
 * fetched blocks are kept for the check's life. Every fetched byte counts against `budget`: a file that needs
 * more is refused (UNSUPPORTED_FORMAT, saying why) rather than read further, so one verification holds at most
 * `budget` bytes whatever the object's size. Bytes already in memory (the streamed head of an upload) are
 * given as `known` and cost nothing.
 */
export interface ByteSource {
  /** The object's size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes at `at`; the caller checks the range lies inside `size`. */
  read(at: number, length: number): Promise<Buffer>;
}

/** 16 KiB: a TIFF directory with its values usually fits one block; 64 blocks make the default budget. */
export const BLOCK_BYTES = 16 * 1024;

/** The most bytes one verification reads back for a format's structures (directories, tables). */
export const STRUCTURE_READ_BYTES = 1024 * 1024;

export interface RangeReaderOptions {
  /** Bytes from offset 0 already in memory. */
  known?: Buffer;
  /** Most bytes fetched (default STRUCTURE_READ_BYTES). */
  budget?: number;
  /** What is read, for the refusal's message ("TIFF directories"). */
  what: string;
}

export interface RangeReader extends ByteSource {
  /** Bytes fetched from storage so far. */
  fetched(): number;
}

/** A whole file already in memory as a ByteSource (the small-file path): nothing is fetched. */
export function bufferSource(buf: Buffer): ByteSource {
  return {
    size: buf.length,
    async read(at, length) {
      return buf.subarray(at, at + length);
    },
  };
}

export function createRangeReader(
  storage: Pick<Storage, 'getRange'>,
  key: string,
  size: number,
  options: RangeReaderOptions,
): RangeReader {
  const known = options.known ?? Buffer.alloc(0);
  const budget = options.budget ?? STRUCTURE_READ_BYTES;
  const blocks = new Map<number, Buffer>();
  let fetched = 0;

  async function fetchBlocks(first: number, last: number): Promise<void> {
    // One GET per run of missing blocks.
    let run = first;
    while (run <= last) {
      if (blocks.has(run)) {
        run++;
        continue;
      }
      let end = run;
      while (end + 1 <= last && !blocks.has(end + 1)) end++;
      const start = run * BLOCK_BYTES;
      const stop = Math.min(size, (end + 1) * BLOCK_BYTES) - 1;
      if (fetched + (stop - start + 1) > budget) {
        throw new PhotoEnhanceError(
          'UNSUPPORTED_FORMAT',
          `The file's ${options.what} take more than ${budget} bytes to read; files with structures that large are not accepted`,
          { details: { maxStructureBytes: budget } },
        );
      }
      const bytes = await storage.getRange(key, start, stop);
      fetched += bytes.length;
      for (let b = run; b <= end; b++) {
        blocks.set(b, bytes.subarray((b - run) * BLOCK_BYTES, (b - run + 1) * BLOCK_BYTES));
      }
      run = end + 1;
    }
  }

  return {
    size,
    fetched: () => fetched,
    async read(at, length) {
      if (length <= 0) return Buffer.alloc(0);
      if (at + length <= known.length) return known.subarray(at, at + length);
      const first = Math.floor(at / BLOCK_BYTES);
      const last = Math.floor((at + length - 1) / BLOCK_BYTES);
      await fetchBlocks(first, last);
      const parts: Buffer[] = [];
      for (let b = first; b <= last; b++) parts.push(blocks.get(b) as Buffer);
      const joined = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      const offset = at - first * BLOCK_BYTES;
      return joined.subarray(offset, offset + length);
    },
  };
}
