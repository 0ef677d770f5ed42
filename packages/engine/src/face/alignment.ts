/**
 * Similarity alignment of detected keypoints onto facexlib's 512×512 template (the crop GFPGAN-family
 * restorers were trained on). Coordinates are continuous (pixel i spans [i, i+1)); facexlib's template
 * is in OpenCV's pixel-centre convention, hence the +0.5 below.
 */

/** Side of the aligned crop every 512-contract restorer expects. */
export const FACE_SIZE = 512;

/** facexlib template (eyes, nose, mouth centre = mean of its two mouth corners), continuous coordinates. */
export const TEMPLATE_POINTS: readonly (readonly [number, number])[] = [
  [192.98138, 239.94708],
  [318.90277, 240.1936],
  [256.63416, 314.01935],
  [(201.26117 + 313.08905) / 2, (371.41043 + 371.15118) / 2],
].map(([x, y]) => [x! + 0.5, y! + 0.5] as const);

/** Template residual (px in the 512 crop) above which the points do not form a frontal-ish face. */
export const MAX_ALIGNMENT_RESIDUAL = 20;

/** A 2×3 affine [a, b, tx, c, d, ty]: x' = a·x + b·y + tx, y' = c·x + d·y + ty. */
export type Affine = [number, number, number, number, number, number];

export interface Alignment {
  /** original → 512 template, continuous coordinates. */
  matrix: number[];
  /** RMS distance (template px) between the mapped points and the template: profile/false faces score high. */
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
 * The pixels of a width × height image that the 512 template square reaches under `imageToTemplate`: the
 * bounding box of its inverse-mapped corners, grown by `pad` px, clipped to the image; [x0, x1) × [y0, y1),
 * empty when x1 ≤ x0 or y1 ≤ y0.
 */
export function templateFootprint(
  imageToTemplate: readonly number[],
  width: number,
  height: number,
  pad = 0,
): { x0: number; y0: number; x1: number; y1: number } {
  const toImage = invertAffine(imageToTemplate);
  const corners = [
    applyAffine(toImage, 0, 0),
    applyAffine(toImage, FACE_SIZE, 0),
    applyAffine(toImage, 0, FACE_SIZE),
    applyAffine(toImage, FACE_SIZE, FACE_SIZE),
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
export function estimateAlignmentFromPoints(points: readonly (readonly [number, number])[]): Alignment {
  const src = points.slice(0, 4);
  const dst = TEMPLATE_POINTS;
  const weights = [1, 1, 1, 1];
  let matrix = fitSimilarity(src, dst, weights);
  // Cauchy scale: a few template pixels; three rounds settle it.
  const c = 8;
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
