import type { PlanarImage } from '@photoenhance/image';
import { type Affine, affineScale, invertAffine, templateFootprint } from './alignment.ts';
import { type PixelRect, resizeRegion } from './pixels.ts';

/**
 * facexlib fills outside the photo with borderValue=(135,133,132) on a BGR image, i.e. RGB (132,133,135):
 * a neutral grey the restorers saw during training, so the border does not read as skin or hair.
 */
export const BORDER_FILL: readonly [number, number, number] = [132 / 255, 133 / 255, 135 / 255];

/**
 * Below this scale (template px per source px) the bilinear warp would skip source pixels and alias:
 * shrink with a real filter first.
 */
const MIN_DIRECT_SCALE = 0.75;

/**
 * Affine warp with bilinear sampling, written out because it is one tight loop over the crop's pixels
 * (≈ 2–3 ms): sharp's affine() works on whole 8/16-bit images and would need the inverse matrix
 * plus a crop and a format round trip. Taps outside the source take `fill` (OpenCV's
 * BORDER_CONSTANT), so the crop edge blends into the fill rather than smearing edge pixels.
 * `dstToSrc` maps continuous destination coordinates to continuous source ones. `out` (planar,
 * width×height×3), when given, is written and returned: e.g. a face's slot in a restorer batch.
 */
export function warpAffineBilinear(
  src: PlanarImage,
  dstToSrc: readonly number[],
  width: number,
  height: number,
  fill: readonly number[],
  out: Float32Array = new Float32Array(width * height * 3),
): Float32Array {
  const sw = src.width;
  const sh = src.height;
  const plane = sw * sh;
  const outPlane = width * height;
  const s = src.data;
  const [a, b, tx, c, d, ty] = dstToSrc as Affine;
  for (let v = 0; v < height; v++) {
    // Source position of destination pixel centre (0.5, v + 0.5), in source index space (-0.5).
    let x = a * 0.5 + b * (v + 0.5) + tx - 0.5;
    let y = c * 0.5 + d * (v + 0.5) + ty - 0.5;
    for (let u = 0; u < width; u++, x += a, y += c) {
      const o = v * width + u;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      if (x0 >= 0 && y0 >= 0 && x0 < sw - 1 && y0 < sh - 1) {
        // All four taps inside: the common case, no border tests.
        const i = y0 * sw + x0;
        for (let base = 0, ob = o; base < 3 * plane; base += plane, ob += outPlane) {
          const p00 = s[base + i]!;
          const p10 = s[base + i + 1]!;
          const p01 = s[base + i + sw]!;
          const p11 = s[base + i + sw + 1]!;
          const top = p00 + (p10 - p00) * fx;
          out[ob] = top + (p01 + (p11 - p01) * fx - top) * fy;
        }
        continue;
      }
      if (x0 < -1 || y0 < -1 || x0 >= sw || y0 >= sh) {
        out[o] = fill[0]!;
        out[o + outPlane] = fill[1]!;
        out[o + 2 * outPlane] = fill[2]!;
        continue;
      }
      const w00 = (1 - fx) * (1 - fy);
      const w10 = fx * (1 - fy);
      const w01 = (1 - fx) * fy;
      const w11 = fx * fy;
      const in00 = x0 >= 0 && y0 >= 0;
      const in10 = x0 + 1 < sw && y0 >= 0;
      const in01 = x0 >= 0 && y0 + 1 < sh;
      const in11 = x0 + 1 < sw && y0 + 1 < sh;
      const i = y0 * sw + x0;
      for (let ch = 0, base = 0, ob = o; ch < 3; ch++, base += plane, ob += outPlane) {
        const f = fill[ch]!;
        out[ob] =
          w00 * (in00 ? s[base + i]! : f) +
          w10 * (in10 ? s[base + i + 1]! : f) +
          w01 * (in01 ? s[base + i + sw]! : f) +
          w11 * (in11 ? s[base + i + sw + 1]! : f);
      }
    }
  }
  return out;
}

/** The part of the image the size × size crop covers (inverse-mapped square), padded 2 px, clipped. */
function cropFootprint(image: PlanarImage, originalToTemplate: readonly number[], size: number): PixelRect | undefined {
  const {
    x0: left,
    y0: top,
    x1: right,
    y1: bottom,
  } = templateFootprint(originalToTemplate, size, image.width, image.height, 2);
  return right > left && bottom > top ? { left, top, width: right - left, height: bottom - top } : undefined;
}

/**
 * The size × size aligned face (planar RGB [0,1]) cut from the original; `originalToTemplate` maps the
 * original onto that crop (`cropTransform`). Faces larger than the crop are
 * first shrunk with sharp's Lanczos so the warp only rotates and fine-scales; small faces are enlarged
 * by the bilinear warp directly, where it does not alias. Written into `out` when given.
 */
export async function cropAlignedFace(
  original: PlanarImage,
  originalToTemplate: readonly number[],
  size: number,
  out?: Float32Array,
): Promise<Float32Array> {
  const scale = affineScale(originalToTemplate);
  const region = scale < MIN_DIRECT_SCALE ? cropFootprint(original, originalToTemplate, size) : undefined;
  if (!region) return warpAffineBilinear(original, invertAffine(originalToTemplate), size, size, BORDER_FILL, out);
  const w = Math.max(1, Math.round(region.width * scale));
  const h = Math.max(1, Math.round(region.height * scale));
  const shrunk = await resizeRegion(original, region, w, h);
  // shrunk px → original px: scale back per axis, then offset by the region.
  const kx = region.width / w;
  const ky = region.height / h;
  const m = originalToTemplate;
  const shrunkToTemplate: Affine = [
    m[0]! * kx,
    m[1]! * ky,
    m[0]! * region.left + m[1]! * region.top + m[2]!,
    m[3]! * kx,
    m[4]! * ky,
    m[3]! * region.left + m[4]! * region.top + m[5]!,
  ];
  return warpAffineBilinear(shrunk, invertAffine(shrunkToTemplate), size, size, BORDER_FILL, out);
}
