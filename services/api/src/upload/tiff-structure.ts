import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { ByteSource } from './range-reader.ts';

function truncated(why: string): PhotoEnhanceError {
  return new PhotoEnhanceError('CORRUPT_IMAGE', `The TIFF file is truncated or damaged (${why})`, {
    details: { format: 'tiff' },
  });
}

/** Bytes per value of each field type (TIFF 6.0 + BigTIFF); other types are skipped, as the spec says. */
const SIZES: Record<number, number> = {
  ...{ 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 },
  ...{ 13: 4, 16: 8, 17: 8, 18: 8 },
};

/** StripOffsets/StripByteCounts and TileOffsets/TileByteCounts. */
const DATA_TABLES = [
  [273, 279],
  [324, 325],
] as const;

/**
 * Tags that point at other directories (SubIFDs, EXIF, GPS, Interoperability): left out of the header-only
 * copy, whose offsets would otherwise point outside it. The probe needs none of them.
 */
const POINTER_TAGS = new Set([330, 34665, 34853, 40965]);

/** The most directories followed: a longer chain is refused as a loop. */
const MAX_DIRECTORIES = 64;

interface Entry {
  tag: number;
  /** The raw entry bytes (12, or 20 in BigTIFF). */
  raw: Buffer;
  /** Out-of-line values, or undefined when they sit in the entry itself. */
  values: Buffer | undefined;
}

/**
 * Walks a TIFF's directories (IFDs) through `source` and proves every directory, every value stored out of line
 * (JPEG tables, colour maps…) and every strip or tile lies inside the file: libvips decodes a TIFF cut short
 * without complaint, filling in the rest. Only directories, strip/tile tables and the first directory's values
 * are read, never the pixels, so a ranged source reads a few KiB of a 40 MB file.
 *
 * Returns a header-only copy of the file: the header and the first directory, its out-of-line values moved
 * right behind it (strip and tile offsets unchanged: they are never read). sharp reads the image's size,
 * bands, depth, ICC profile and orientation from it exactly as from the file, without the file.
 */
export async function readTiffStructure(source: ByteSource): Promise<Buffer> {
  const { size } = source;
  if (size < 8) throw truncated('no header');
  const header = await source.read(0, Math.min(16, size));
  const le = header[0] === 0x49;
  const u16 = (b: Buffer, at: number) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const u64 = (b: Buffer, at: number) => Number(le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
  const big = u16(header, 2) === 43;
  if (big && size < 16) throw truncated('no header');
  const countBytes = big ? 8 : 2;
  const entryBytes = big ? 20 : 12;
  const inline = big ? 8 : 4;
  const inside = (at: number, bytes: number) => at >= 0 && bytes >= 0 && at + bytes <= size;
  const numbers = (values: Buffer, count: number, width: number): number[] =>
    Array.from({ length: count }, (_, k) =>
      width === 1
        ? (values[k] as number)
        : width === 2
          ? u16(values, 2 * k)
          : width === 4
            ? u32(values, 4 * k)
            : u64(values, 8 * k),
    );

  let first: Entry[] | undefined;
  let ifd = big ? u64(header, 8) : u32(header, 4);
  const seen = new Set<number>();
  while (ifd !== 0) {
    if (seen.has(ifd) || seen.size >= MAX_DIRECTORIES) throw truncated('image directories loop');
    seen.add(ifd);
    if (!inside(ifd, countBytes)) throw truncated('image directory past the end');
    const countField = await source.read(ifd, countBytes);
    const n = big ? u64(countField, 0) : u16(countField, 0);
    const dirBytes = countBytes + n * entryBytes + inline;
    if (!inside(ifd, dirBytes)) throw truncated('image directory cut short');
    const dir = await source.read(ifd, dirBytes);
    const entries = new Map<number, { valueField: number; count: number; width: number; at: number | undefined }>();
    const kept: Entry[] = [];
    for (let k = 0; k < n; k++) {
      const entry = countBytes + k * entryBytes;
      const tag = u16(dir, entry);
      const type = u16(dir, entry + 2);
      const count = big ? u64(dir, entry + 4) : u32(dir, entry + 4);
      const width = SIZES[type] ?? 0;
      const valueField = entry + (big ? 12 : 8);
      const outOfLine = count * width > inline;
      const at = outOfLine ? (big ? u64(dir, valueField) : u32(dir, valueField)) : undefined;
      if (at !== undefined && !inside(at, count * width)) throw truncated(`field ${tag} runs past the end`);
      entries.set(tag, { valueField, count, width, at });
      if (!first && !POINTER_TAGS.has(tag)) {
        const values = at === undefined ? undefined : await source.read(at, count * width);
        kept.push({ tag, raw: dir.subarray(entry, entry + entryBytes), values });
      }
    }
    for (const [offsetsTag, countsTag] of DATA_TABLES) {
      const offsets = entries.get(offsetsTag);
      const counts = entries.get(countsTag);
      if (offsets === undefined || counts === undefined) continue;
      const valuesOf = async (field: typeof offsets) => {
        const bytes =
          field.at === undefined
            ? dir.subarray(field.valueField, field.valueField + inline)
            : await source.read(field.at, field.count * field.width);
        return numbers(bytes, field.count, field.width);
      };
      const lengths = await valuesOf(counts);
      (await valuesOf(offsets)).forEach((start, k) => {
        if (!inside(start, lengths[k] ?? 0)) throw truncated(`image data ${k} runs past the end`);
      });
    }
    first ??= kept;
    ifd = big ? u64(dir, dirBytes - inline) : u32(dir, dirBytes - inline);
  }
  if (!first) throw truncated('no image directory');
  return headerOnlyCopy(header, first, { le, big, countBytes, entryBytes, inline });
}

/** The header and one directory with its values packed behind it: a TIFF of a few KiB that sharp can probe. */
function headerOnlyCopy(
  header: Buffer,
  entries: Entry[],
  layout: { le: boolean; big: boolean; countBytes: number; entryBytes: number; inline: number },
): Buffer {
  const { le, big, countBytes, entryBytes, inline } = layout;
  const headerBytes = big ? 16 : 8;
  const dirAt = headerBytes;
  let valuesAt = dirAt + countBytes + entries.length * entryBytes + inline;
  const placed = entries.map((entry) => {
    if (!entry.values) return { entry, at: 0 };
    valuesAt += valuesAt % 2; // values start on a word boundary
    const at = valuesAt;
    valuesAt += entry.values.length;
    return { entry, at };
  });
  const out = Buffer.alloc(valuesAt);
  header.copy(out, 0, 0, 4);
  const writeOffset = (value: number, at: number) => {
    if (big) {
      if (le) out.writeBigUInt64LE(BigInt(value), at);
      else out.writeBigUInt64BE(BigInt(value), at);
    } else if (le) out.writeUInt32LE(value, at);
    else out.writeUInt32BE(value, at);
  };
  if (big) {
    header.copy(out, 4, 4, 8); // offset size (8) and a reserved zero
    writeOffset(dirAt, 8);
    if (le) out.writeBigUInt64LE(BigInt(entries.length), dirAt);
    else out.writeBigUInt64BE(BigInt(entries.length), dirAt);
  } else {
    writeOffset(dirAt, 4);
    if (le) out.writeUInt16LE(entries.length, dirAt);
    else out.writeUInt16BE(entries.length, dirAt);
  }
  placed.forEach(({ entry, at }, k) => {
    const entryAt = dirAt + countBytes + k * entryBytes;
    entry.raw.copy(out, entryAt);
    if (entry.values) {
      entry.values.copy(out, at);
      writeOffset(at, entryAt + (big ? 12 : 8));
    }
  });
  // The next-directory offset (after the entries) stays zero: one directory.
  return out;
}
