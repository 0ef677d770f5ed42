import type { RawDetection } from './blazeface.ts';

type Box = [number, number, number, number];

function area(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

function intersection(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * MediaPipe's weighted NMS: the best remaining detection absorbs every other one overlapping it by at
 * least `iouThreshold`; box and keypoints become the score-weighted mean of the cluster (steadier than
 * keeping one anchor), score and scale those of the best member.
 */
export function weightedNms(detections: RawDetection[], iouThreshold: number): RawDetection[] {
  const remaining = [...detections].sort((a, b) => b.score - a.score);
  const kept: RawDetection[] = [];
  while (remaining.length > 0) {
    const best = remaining[0]!;
    const cluster: RawDetection[] = [];
    const rest: RawDetection[] = [];
    for (const d of remaining) (iou(best.box, d.box) >= iouThreshold ? cluster : rest).push(d);
    let total = 0;
    const box: Box = [0, 0, 0, 0];
    const keypoints = new Array<number>(best.keypoints.length).fill(0);
    for (const d of cluster) {
      total += d.score;
      for (let i = 0; i < 4; i++) box[i] = box[i]! + d.box[i]! * d.score;
      for (let i = 0; i < keypoints.length; i++) keypoints[i] = keypoints[i]! + d.keypoints[i]! * d.score;
    }
    kept.push({
      box: box.map((v) => v / total) as Box,
      keypoints: keypoints.map((v) => v / total),
      score: best.score,
      scale: best.scale,
    });
    remaining.splice(0, remaining.length, ...rest);
  }
  return kept;
}

/**
 * A face cannot contain another face: when most of one box lies inside another, the lower-scoring of
 * the two is a part-of-face or multi-face false positive and goes.
 */
export function suppressNested(detections: RawDetection[], containment = 0.7): RawDetection[] {
  const sorted = [...detections].sort((a, b) => b.score - a.score);
  const kept: RawDetection[] = [];
  for (const d of sorted) {
    const nested = kept.some((k) => {
      const inter = intersection(k.box, d.box);
      const smaller = Math.min(area(k.box), area(d.box));
      return smaller > 0 && inter / smaller >= containment;
    });
    if (!nested) kept.push(d);
  }
  return kept;
}
