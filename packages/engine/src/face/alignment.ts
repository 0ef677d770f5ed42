/**
 * Similarity alignment of detected keypoints onto a restorer's face template. Templates are written as
 * fractions of the crop side, as FaceFusion's warp templates are (facefusion/face_helper.py
 * WARP_TEMPLATE_SET), so one template serves a restorer of any size (GPEN-BFR 256…2048, GFPGAN and
 * CodeFormer at their native side): an alignment is fitted once in these unit coordinates and scaled to
 * the crop with `cropTransform`. Crop coordinates are continuous (pixel i spans [i, i+1)); the templates
 * are in OpenCV's pixel-centre convention, hence the +0.5 in `cropTransform`.
 */

import type { FaceTemplateName } from '@photoenhance/models';

/**
 * The templates restorers are trained on: eyes, nose, mouth centre (the mean of the two mouth corners),
 * as fractions of the crop side. `ffhq` is facexlib's FFHQ template (GFPGAN, CodeFormer, RestoreFormer++,
 * GPEN-BFR 512 and up); `arcface-128` is the tighter one FaceFusion aligns GPEN-BFR-256 with.
 */
export const FACE_TEMPLATES = {
  ffhq: unitTemplate([
    [0.37691676, 0.46864664],
    [0.62285697, 0.46912813],
    [0.50123859, 0.61331904],
    [0.39308822, 0.725411],
    [0.61150205, 0.72490465],
  ]),
  'arcface-128': unitTemplate([
    [0.36167656, 0.40387734],
    [0.63696719, 0.40235469],
    [0.50019687, 0.56044219],
    [0.38710391, 0.72160547],
    [0.61507734, 0.72034453],
  ]),
} as const satisfies Record<FaceTemplateName, readonly (readonly [number, number])[]>;

export type FaceTemplate = keyof typeof FACE_TEMPLATES;

/** Five points (eyes, nose, mouth corners) → four (eyes, nose, mouth centre). */
function unitTemplate(five: readonly (readonly [number, number])[]): readonly (readonly [number, number])[] {
  const [le, re, nose, ml, mr] = five as [
    [number, number],
    [number, number],
    [number, number],
    [number, number],
    [number, number],
  ];
  return [le, re, nose, [(ml[0] + mr[0]) / 2, (ml[1] + mr[1]) / 2]];
}

/** A template's points in a size × size crop, continuous coordinates. */
export function templatePoints(template: FaceTemplate, size: number): [number, number][] {
  return FACE_TEMPLATES[template].map(([x, y]) => [x * size + 0.5, y * size + 0.5]);
}

/**
 * Template residual, as a fraction of the crop side, above which the points do not form a frontal-ish
 * face (facexlib's rule of thumb: ≈ 20 px in its 512 crop).
 */
export const MAX_ALIGNMENT_RESIDUAL = 0.039;

/** A 2×3 affine [a, b, tx, c, d, ty]: x' = a·x + b·y + tx, y' = c·x + d·y + ty. */
export type Affine = [number, number, number, number, number, number];

export interface Alignment {
  /** original → the template in unit coordinates (crop side = 1); `cropTransform` scales it to a crop. */
  matrix: number[];
  /** RMS distance between the mapped points and the template, as a fraction of the crop side: profile/false faces score high. */
  residual: number;
  /** Distance between the two eyes in original pixels. */
  eyeDistance: number;
}

/**
 * Weighted least-squares similarity (4 dof: scale·rotation + translation) mapping src onto dst:
 * closed form, centred coordinates.
 */
export function fitSimilarity(
  src: readonly (readonly [number, number])[],
  dst: readonly (readonly [number, number])[],
  weights: readonly number[],
): Affine {
  let sw = 0;
  let sx = 0;
  let sy = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < src.length; i++) {
    const w = weights[i]!;
    sw += w;
    sx += w * src[i]![0];
    sy += w * src[i]![1];
    dx += w * dst[i]![0];
    dy += w * dst[i]![1];
  }
  sx /= sw;
  sy /= sw;
  dx /= sw;
  dy /= sw;
  // dst ≈ [a -b; b a]·src + t, minimising Σ w‖·‖²
  let num1 = 0;
  let num2 = 0;
  let den = 0;
  for (let i = 0; i < src.length; i++) {
    const w = weights[i]!;
    const px = src[i]![0] - sx;
    const py = src[i]![1] - sy;
    const qx = dst[i]![0] - dx;
    const qy = dst[i]![1] - dy;
    num1 += w * (px * qx + py * qy);
    num2 += w * (px * qy - py * qx);
    den += w * (px * px + py * py);
  }
  const a = den > 0 ? num1 / den : 1;
  const b = den > 0 ? num2 / den : 0;
  return [a, -b, dx - (a * sx - b * sy), b, a, dy - (b * sx + a * sy)];
}

export function applyAffine(m: readonly number[], x: number, y: number): [number, number] {
  return [m[0]! * x + m[1]! * y + m[2]!, m[3]! * x + m[4]! * y + m[5]!];
}

export function invertAffine(m: readonly number[]): Affine {
  const [a, b, tx, c, d, ty] = m as Affine;
  const det = a * d - b * c;
  const ia = d / det;
  const ib = -b / det;
  const ic = -c / det;
  const id = a / det;
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)];
}

/** Uniform scale of a similarity/affine (geometric mean of the axis scales). */
export function affineScale(m: readonly number[]): number {
  return Math.sqrt(Math.abs(m[0]! * m[4]! - m[1]! * m[3]!));
}

/**
 * original → a size × size crop (continuous coordinates) from a unit-template alignment: scaled by the
 * side, shifted by the templates' pixel-centre half pixel. The same fit serves every crop size.
 */
export function cropTransform(unitMatrix: readonly number[], size: number): Affine {
  const m = unitMatrix;
  return [m[0]! * size, m[1]! * size, m[2]! * size + 0.5, m[3]! * size, m[4]! * size, m[5]! * size + 0.5];
}

/**
 * The pixels of a width × height image that the size × size crop square reaches under `imageToTemplate`: the
 * bounding box of its inverse-mapped corners, grown by `pad` px, clipped to the image; [x0, x1) × [y0, y1),
 * empty when x1 ≤ x0 or y1 ≤ y0.
 */
export function templateFootprint(
  imageToTemplate: readonly number[],
  size: number,
  width: number,
  height: number,
  pad = 0,
): { x0: number; y0: number; x1: number; y1: number } {
  const toImage = invertAffine(imageToTemplate);
  const corners = [
    applyAffine(toImage, 0, 0),
    applyAffine(toImage, size, 0),
    applyAffine(toImage, 0, size),
    applyAffine(toImage, size, size),
  ];
  return {
    x0: Math.max(0, Math.floor(Math.min(...corners.map((p) => p[0])) - pad)),
    y0: Math.max(0, Math.floor(Math.min(...corners.map((p) => p[1])) - pad)),
    x1: Math.min(width, Math.ceil(Math.max(...corners.map((p) => p[0])) + pad)),
    y1: Math.min(height, Math.ceil(Math.max(...corners.map((p) => p[1])) + pad)),
  };
}

/** (x0, y0) ∘ m: the affine that first scales by s about the origin then applies m. */
export function composeScale(m: readonly number[], s: number): Affine {
  return [m[0]! * s, m[1]! * s, m[2]!, m[3]! * s, m[4]! * s, m[5]!];
}

/** m ∘ translate(dx, dy): input coordinates shifted before m. */
export function composeTranslate(m: readonly number[], dx: number, dy: number): Affine {
  return [m[0]!, m[1]!, m[0]! * dx + m[1]! * dy + m[2]!, m[3]!, m[4]!, m[3]! * dx + m[4]! * dy + m[5]!];
}

/**
 * Robust fit on eyes, nose and mouth: iteratively reweighted least squares with Cauchy weights, so one
 * misplaced point (a nose seen from the side, a hand over the mouth) cannot drag the crop. The reported
 * residual is the plain RMS over all four points, so a face the template cannot explain still shows.
 */
export function estimateAlignmentFromPoints(
  points: readonly (readonly [number, number])[],
  template: FaceTemplate = 'ffhq',
): Alignment {
  const src = points.slice(0, 4);
  const dst = FACE_TEMPLATES[template];
  const weights = [1, 1, 1, 1];
  let matrix = fitSimilarity(src, dst, weights);
  // Cauchy scale: 1/64 of the crop side (a few template pixels); three rounds settle it. In unit
  // coordinates the weights, hence the fit, are the same as a fit to the template at any crop size.
  const c = 1 / 64;
  for (let iter = 0; iter < 3; iter++) {
    for (let i = 0; i < 4; i++) {
      const [x, y] = applyAffine(matrix, src[i]![0], src[i]![1]);
      const r = Math.hypot(x - dst[i]![0], y - dst[i]![1]);
      weights[i] = 1 / (1 + (r / c) ** 2);
    }
    matrix = fitSimilarity(src, dst, weights);
  }
  let sq = 0;
  for (let i = 0; i < 4; i++) {
    const [x, y] = applyAffine(matrix, src[i]![0], src[i]![1]);
    sq += (x - dst[i]![0]) ** 2 + (y - dst[i]![1]) ** 2;
  }
  const eyeDistance = Math.hypot(src[1]![0] - src[0]![0], src[1]![1] - src[0]![1]);
  return { matrix, residual: Math.sqrt(sq / 4), eyeDistance };
}
