import type { PlanarImage } from '@photoenhance/image';

/**
 * Index into [0, length) for a coordinate that may lie outside it, mirrored at the edges without
 * repeating the edge pixel (numpy/PyTorch 'reflect': -1 → 1, length → length - 2). Works for any
 * distance by folding periodically, so a pad wider than the image is still defined; length 1 → 0.
 */
export function reflectIndex(i: number, length: number): number {
  if (length === 1) return 0;
  const period = 2 * (length - 1);
  const m = ((i % period) + period) % period;
  return m < length ? m : period - m;
}

/**
 * Copies the window [x, x + width) × [y, y + height) of all planes of `image` into `target` at
 * `offset` (planar, plane after plane), reflect padding what lies outside the image. Rows inside the
 * image are copied as one block; only the padded columns are gathered one by one.
 */
export function copyWindow(
  image: PlanarImage,
  x: number,
  y: number,
  width: number,
  height: number,
  target: Float32Array,
  offset: number,
): void {
  const { width: imageWidth, height: imageHeight, channels, data } = image;
  const columns = new Int32Array(width);
  for (let j = 0; j < width; j++) columns[j] = reflectIndex(x + j, imageWidth);
  // The part of the window inside the image is one contiguous run per row.
  const inFrom = Math.min(width, Math.max(0, -x));
  const inTo = Math.max(inFrom, Math.min(width, imageWidth - x));
  const planeSize = imageWidth * imageHeight;
  for (let c = 0; c < channels; c++) {
    for (let r = 0; r < height; r++) {
      const sourceRow = c * planeSize + reflectIndex(y + r, imageHeight) * imageWidth;
      const targetRow = offset + (c * height + r) * width;
      if (inTo > inFrom) target.set(data.subarray(sourceRow + x + inFrom, sourceRow + x + inTo), targetRow + inFrom);
      for (let j = 0; j < inFrom; j++) target[targetRow + j] = data[sourceRow + (columns[j] as number)] as number;
      for (let j = inTo; j < width; j++) target[targetRow + j] = data[sourceRow + (columns[j] as number)] as number;
    }
  }
}
