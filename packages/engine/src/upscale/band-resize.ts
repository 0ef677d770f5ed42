import sharp from 'sharp';

/**
 * Resizing one block of a big image so that it matches, pixel for pixel, the same region of a resize
 * of the whole image, with libvips doing the resampling.
 *
 * libvips' resize (sharp's `resize`) has no "source offset" parameter: it maps output pixel centres
 * onto input pixel centres of the image it is given with the ratio in/out of that image. A block gets
 * exactly the whole image's mapping when (1) its size has the same in/out ratio as the whole axis and
 * (2) it starts where an output pixel centre lands on the same sub-pixel phase. Both hold for blocks
 * whose ends lie on multiples of the axis period (in/out reduced to lowest terms): for a ×4 result
 * resized to ×2 the period is 2 px in / 1 px out; for ×1.5 of an even width 8 in / 3 out. A block also
 * carries a margin of real (or zero) neighbours wider than the Lanczos-3 kernel's reach, so that its
 * own edge extension never reaches the pixels kept. An axis whose period is as long as the axis (odd
 * sizes at fractional scales) gets one block spanning it: still exact, only bigger.
 */
export interface AxisMap {
  /** Length of the axis in source pixels (the ×4 result). */
  inLength: number;
  /** Length of the axis in output pixels (the requested scale). */
  outLength: number;
  periodIn: number;
  periodOut: number;
  /** Source pixels a block keeps beyond what it must resize: more than the kernel reaches. */
  margin: number;
}

export interface AxisBlock {
  /** Source range [inStart, inEnd) and the output range [outStart, outEnd) it resizes to exactly. */
  inStart: number;
  inEnd: number;
  outStart: number;
  outEnd: number;
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

export function axisMap(inLength: number, outLength: number): AxisMap {
  const g = gcd(inLength, outLength);
  const shrink = inLength / outLength;
  // Lanczos-3 reaches 3 source px at upscale and 3·shrink when reducing; libvips may box-shrink by an
  // integer factor first (its "gap"), which widens the reach by that factor: 2 more of it is slack.
  const margin = inLength === outLength ? 0 : Math.ceil(3 * Math.max(1, shrink) + 2 * Math.ceil(shrink)) + 2;
  return { inLength, outLength, periodIn: inLength / g, periodOut: outLength / g, margin };
}

/** The smallest period-aligned block whose kept output covers the source range [from, to) with margin. */
export function axisBlock(map: AxisMap, from: number, to: number): AxisBlock {
  const { periodIn, periodOut, margin, inLength } = map;
  const first = Math.max(0, Math.floor((from - margin) / periodIn));
  const last = Math.min(inLength / periodIn, Math.ceil((to + margin) / periodIn));
  return {
    inStart: first * periodIn,
    inEnd: last * periodIn,
    outStart: first * periodOut,
    outEnd: last * periodOut,
  };
}

/** Values from a block resize are stored in 16 bits over this range, which holds Lanczos' ringing. */
const RANGE_LOW = -1;
const RANGE_HIGH = 2;
const U16_MAX = 65535;
const STEP = (RANGE_HIGH - RANGE_LOW) / U16_MAX;

/**
 * Lanczos-3 resize of one float plane (width × height) to outWidth × outHeight with libvips, values
 * kept signed: a weighted tile is zero outside its footprint, so its resize rings below 0 and above 1
 * and those parts cancel against the neighbour's. sharp hands float results back only through a
 * 16-bit cast, so the range [-1, 2] is mapped onto it (a step of 4.6e-5, far below 8-bit output's
 * 3.9e-3). Returns outWidth × outHeight codes; decodeBlockValue turns one back into its value.
 */
export async function resizeBlockPlane(
  plane: Float32Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Promise<Uint16Array> {
  const { data } = await sharp(plane, { raw: { width, height, channels: 1 }, limitInputPixels: false })
    .resize(outWidth, outHeight, { kernel: 'lanczos3', fit: 'fill' })
    // +0.5: the cast to ushort truncates.
    .linear(1 / STEP, -RANGE_LOW / STEP + 0.5)
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
}

/** The value a code of resizeBlockPlane stands for. */
export function decodeBlockValue(code: number): number {
  return code * STEP + RANGE_LOW;
}
