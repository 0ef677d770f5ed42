import { describe, expect, it } from 'vitest';
import {
  applyAffine,
  cropTransform,
  estimateAlignmentFromPoints,
  fitSimilarity,
  invertAffine,
  MAX_ALIGNMENT_RESIDUAL,
  templateFootprint,
  templatePoints,
} from '../../src/face/alignment.ts';
import { estimateAlignment } from '../../src/face/index.ts';
import { suppressNested, weightedNms } from '../../src/face/nms.ts';

/** The FFHQ template in a GFPGAN-sized crop, where the test figures below were first written. */
const SIZE = 512;
const TEMPLATE_POINTS = templatePoints('ffhq', SIZE);

/** Template points seen through a known similarity (scale s, angle θ, shift): what a detector would report. */
function pointsUnder(s: number, theta: number, dx: number, dy: number): [number, number][] {
  const c = Math.cos(theta) * s;
  const n = Math.sin(theta) * s;
  return TEMPLATE_POINTS.map(([x, y]) => [c * x - n * y + dx, n * x + c * y + dy]);
}

describe('similarity alignment', () => {
  it('recovers a known rotation, scale and shift exactly, with zero residual', () => {
    const pts = pointsUnder(0.3, 0.4, 120, -35);
    const alignment = estimateAlignmentFromPoints(pts);
    const { residual, eyeDistance } = alignment;
    const matrix = cropTransform(alignment.matrix, SIZE);
    expect(residual).toBeLessThan(1e-6);
    for (let i = 0; i < 4; i++) {
      const [x, y] = applyAffine(matrix, pts[i]![0], pts[i]![1]);
      expect(x).toBeCloseTo(TEMPLATE_POINTS[i]![0], 6);
      expect(y).toBeCloseTo(TEMPLATE_POINTS[i]![1], 6);
    }
    const templateEyes = Math.hypot(
      TEMPLATE_POINTS[1]![0] - TEMPLATE_POINTS[0]![0],
      TEMPLATE_POINTS[1]![1] - TEMPLATE_POINTS[0]![1],
    );
    expect(eyeDistance).toBeCloseTo(templateEyes * 0.3, 6);
    // original → template: the scale is the inverse of the one applied.
    expect(Math.hypot(matrix[0]!, matrix[3]!)).toBeCloseTo(1 / 0.3, 6);
  });

  it('is robust to one misplaced point: the others still land on the template', () => {
    const pts = pointsUnder(0.5, -0.2, 40, 60);
    const moved = pts.map((p) => [...p] as [number, number]);
    moved[3] = [moved[3]![0] + 18, moved[3]![1] - 10]; // mouth 40+ template px off
    const robust = estimateAlignmentFromPoints(moved);
    const plain = fitSimilarity(moved, TEMPLATE_POINTS, [1, 1, 1, 1]);
    const err = (m: readonly number[]) =>
      Math.max(
        ...[0, 1, 2].map((i) =>
          Math.hypot(
            applyAffine(m, moved[i]![0], moved[i]![1])[0] - TEMPLATE_POINTS[i]![0],
            applyAffine(m, moved[i]![0], moved[i]![1])[1] - TEMPLATE_POINTS[i]![1],
          ),
        ),
      );
    expect(err(cropTransform(robust.matrix, SIZE))).toBeLessThan(err(plain) / 3);
    expect(err(cropTransform(robust.matrix, SIZE))).toBeLessThan(4);
    // …while the residual (a fraction of the crop side) still shows the misfit: RMS of one point D off among four is about D/2.
    const offTemplate = Math.hypot(18, -10) / 0.5;
    expect(robust.residual * SIZE).toBeGreaterThan(0.4 * offTemplate);
  });

  it('gives a large residual for a profile-like layout (both eyes on one side of the nose)', () => {
    const pts = pointsUnder(0.4, 0, 0, 0);
    // eyes squeezed together towards one side, nose beyond them: a head turned 90°
    pts[0] = [pts[2]![0] - 20, pts[0]![1]];
    pts[1] = [pts[2]![0] - 8, pts[1]![1]];
    pts[2] = [pts[2]![0] + 10, pts[2]![1]];
    expect(estimateAlignmentFromPoints(pts).residual).toBeGreaterThan(MAX_ALIGNMENT_RESIDUAL);
  });

  it('estimateAlignment uses eyes, nose and mouth of a detected face and ignores the ears', () => {
    const pts = pointsUnder(0.25, 0.1, 10, 20);
    const face = {
      box: [0, 0, 100, 100] as [number, number, number, number],
      score: 0.9,
      keypoints: [...pts, [-500, 3] as [number, number], [900, 900] as [number, number]],
    };
    expect(estimateAlignment(face).residual).toBeLessThan(1e-6);
  });

  it.each([256, 1024, 2048])(
    'scaled to a %i crop, is the fit to that crop’s template (one fit serves every size)',
    (size) => {
      const pts = pointsUnder(0.5, -0.2, 40, 60);
      pts[3] = [pts[3]![0] + 9, pts[3]![1] - 5]; // one point off, so the robust weights matter
      const unit = estimateAlignmentFromPoints(pts);
      const target = templatePoints('ffhq', size);
      const m = cropTransform(unit.matrix, size);
      // The same IRLS, written directly in crop pixels with the Cauchy scale at 1/64 of the side.
      const weights = [1, 1, 1, 1];
      let direct = fitSimilarity(pts, target, weights);
      for (let iter = 0; iter < 3; iter++) {
        for (let i = 0; i < 4; i++) {
          const [x, y] = applyAffine(direct, pts[i]![0], pts[i]![1]);
          weights[i] = 1 / (1 + (Math.hypot(x - target[i]![0], y - target[i]![1]) / (size / 64)) ** 2);
        }
        direct = fitSimilarity(pts, target, weights);
      }
      for (let i = 0; i < 6; i++) expect(m[i]).toBeCloseTo(direct[i]!, 6);
      // The residual is size-free: the same fraction of the crop side at every size.
      let sq = 0;
      for (let i = 0; i < 4; i++) {
        const [x, y] = applyAffine(m, pts[i]![0], pts[i]![1]);
        sq += (x - target[i]![0]) ** 2 + (y - target[i]![1]) ** 2;
      }
      expect(Math.sqrt(sq / 4) / size).toBeCloseTo(unit.residual, 9);
    },
  );

  it('fits each restorer’s template: a face on the arcface-128 template lands there, not on FFHQ’s', () => {
    const arc = templatePoints('arcface-128', 256).map(([x, y]) => [x * 0.4 + 30, y * 0.4 + 12] as [number, number]);
    const onArc = estimateAlignmentFromPoints(arc, 'arcface-128');
    expect(onArc.residual).toBeLessThan(1e-6);
    const [x, y] = applyAffine(cropTransform(onArc.matrix, 256), arc[0]![0], arc[0]![1]);
    expect(x).toBeCloseTo(templatePoints('arcface-128', 256)[0]![0], 6);
    expect(y).toBeCloseTo(templatePoints('arcface-128', 256)[0]![1], 6);
    // The FFHQ template has the face lower and smaller in the crop: the two fits differ.
    const onFfhq = estimateAlignmentFromPoints(arc, 'ffhq');
    expect(Math.abs(onFfhq.matrix[5]! - onArc.matrix[5]!)).toBeGreaterThan(0.01);
  });

  it('at 512 the FFHQ template is facexlib’s (the crop GFPGAN was trained on), to a thousandth of a pixel', () => {
    // facexlib face_template for 512: eyes, nose, mouth corners (OpenCV pixel centres, so +0.5 here).
    const facexlib = [
      [192.98138, 239.94708],
      [318.90277, 240.1936],
      [256.63416, 314.01935],
      [(201.26117 + 313.08905) / 2, (371.41043 + 371.15118) / 2],
    ];
    const ours = templatePoints('ffhq', 512);
    for (let i = 0; i < 4; i++) {
      expect(Math.abs(ours[i]![0] - (facexlib[i]![0]! + 0.5))).toBeLessThan(1e-3);
      expect(Math.abs(ours[i]![1] - (facexlib[i]![1]! + 0.5))).toBeLessThan(1e-3);
    }
  });

  it('invertAffine undoes the matrix', () => {
    const m = estimateAlignmentFromPoints(pointsUnder(0.7, 1.1, -3, 9)).matrix;
    const inv = invertAffine(m);
    const [x, y] = applyAffine(m, 13.5, -7.25);
    const [bx, by] = applyAffine(inv, x, y);
    expect(bx).toBeCloseTo(13.5, 9);
    expect(by).toBeCloseTo(-7.25, 9);
  });
});

describe('weighted NMS and nested boxes', () => {
  const det = (box: [number, number, number, number], score: number, kx = box[0]) => ({
    box,
    keypoints: [kx, box[1]],
    score,
    scale: 1,
  });

  it('merges overlapping detections into the score-weighted mean and keeps separate ones', () => {
    const out = weightedNms([det([0, 0, 10, 10], 0.9), det([2, 0, 12, 10], 0.6), det([50, 50, 60, 60], 0.8)], 0.3);
    expect(out).toHaveLength(2);
    const merged = out.find((d) => d.box[0] < 20)!;
    expect(merged.score).toBe(0.9);
    expect(merged.box[0]).toBeCloseTo((0 * 0.9 + 2 * 0.6) / 1.5, 9);
    expect(merged.keypoints[0]).toBeCloseTo((0 * 0.9 + 2 * 0.6) / 1.5, 9);
    expect(out.find((d) => d.box[0] === 50)?.score).toBe(0.8);
  });

  it('does not merge boxes overlapping less than the threshold', () => {
    expect(weightedNms([det([0, 0, 10, 10], 0.9), det([8, 0, 18, 10], 0.8)], 0.3)).toHaveLength(2);
  });

  it('drops the weaker of two nested boxes', () => {
    const out = suppressNested([det([0, 0, 100, 100], 0.9), det([30, 30, 50, 50], 0.7), det([200, 0, 240, 40], 0.6)]);
    expect(out.map((d) => d.box[0]).sort((a, b) => a - b)).toEqual([0, 200]);
  });
});

describe('template footprint', () => {
  it('is the bounding box of the template square mapped into the image, padded and clipped', () => {
    // Image → template: ×2 after shifting by (-10, -20), so the 512 square covers image x 10…266, y 20…276.
    const imageToTemplate = [2, 0, -20, 0, 2, -40];
    expect(templateFootprint(imageToTemplate, 512, 1000, 1000)).toEqual({ x0: 10, y0: 20, x1: 266, y1: 276 });
    expect(templateFootprint(imageToTemplate, 512, 1000, 1000, 2)).toEqual({ x0: 8, y0: 18, x1: 268, y1: 278 });
    expect(templateFootprint(imageToTemplate, 512, 100, 50, 2)).toEqual({ x0: 8, y0: 18, x1: 100, y1: 50 });
    // A 256 crop under the same transform covers half as much.
    expect(templateFootprint(imageToTemplate, 256, 1000, 1000)).toEqual({ x0: 10, y0: 20, x1: 138, y1: 148 });
  });

  it('covers a rotated square by its corners, rounding outwards', () => {
    // 45°, unit scale, template origin at (400, 0): corners land at x = 400 ± 362.04…, y = 0…724.08…
    const c = Math.SQRT1_2;
    const imageToTemplate = invertAffine([c, -c, 400, c, c, 0]);
    expect(templateFootprint(imageToTemplate, 512, 2000, 2000)).toEqual({ x0: 37, y0: 0, x1: 763, y1: 725 });
  });
});
