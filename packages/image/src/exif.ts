const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');
const ORIENTATION_TAG = 0x0112;
const TYPE_SHORT = 3;

/**
 * Returns a copy of an EXIF block with Orientation set to 1 (pixels were already rotated on decode,
 * so keeping 6 would make viewers rotate a second time). Accepts the block with or without the
 * "Exif\0\0" prefix and keeps the same form. Undefined when the TIFF structure cannot be walked:
 * dropping EXIF is safer than writing a block that may still carry an orientation.
 */
export function resetExifOrientation(exif: Buffer): Buffer | undefined {
  const out = Buffer.from(exif);
  const tiff = out.subarray(0, EXIF_HEADER.length).equals(EXIF_HEADER) ? EXIF_HEADER.length : 0;
  if (out.length < tiff + 8) return undefined;
  const order = out.toString('latin1', tiff, tiff + 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const le = order === 'II';
  const u16 = (off: number): number => (le ? out.readUInt16LE(off) : out.readUInt16BE(off));
  const u32 = (off: number): number => (le ? out.readUInt32LE(off) : out.readUInt32BE(off));
  if (u16(tiff + 2) !== 42) return undefined;
  const ifd0 = tiff + u32(tiff + 4);
  if (ifd0 + 2 > out.length) return undefined;
  const count = u16(ifd0);
  if (ifd0 + 2 + count * 12 > out.length) return undefined;
  for (let i = 0; i < count; i++) {
    const entry = ifd0 + 2 + i * 12;
    if (u16(entry) !== ORIENTATION_TAG) continue;
    if (u16(entry + 2) !== TYPE_SHORT) return undefined;
    if (le) out.writeUInt16LE(1, entry + 8);
    else out.writeUInt16BE(1, entry + 8);
  }
  return out;
}

/** Reads Orientation from IFD0, if present (used by tests and for diagnostics). */
export function readExifOrientation(exif: Buffer): number | undefined {
  const tiff = exif.subarray(0, EXIF_HEADER.length).equals(EXIF_HEADER) ? EXIF_HEADER.length : 0;
  if (exif.length < tiff + 8) return undefined;
  const le = exif.toString('latin1', tiff, tiff + 2) === 'II';
  const u16 = (off: number): number => (le ? exif.readUInt16LE(off) : exif.readUInt16BE(off));
  const u32 = (off: number): number => (le ? exif.readUInt32LE(off) : exif.readUInt32BE(off));
  const ifd0 = tiff + u32(tiff + 4);
  if (ifd0 + 2 > exif.length) return undefined;
  const count = u16(ifd0);
  for (let i = 0; i < count && ifd0 + 2 + i * 12 + 12 <= exif.length; i++) {
    const entry = ifd0 + 2 + i * 12;
    if (u16(entry) === ORIENTATION_TAG) return u16(entry + 8);
  }
  return undefined;
}
