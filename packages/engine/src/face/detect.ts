import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { PlanarImage } from '@photoenhance/image';
import type { InferenceSession } from 'onnxruntime-node';
import { estimateAlignmentFromPoints, MAX_ALIGNMENT_RESIDUAL } from './alignment.ts';
import {
  BLAZEFACE_INPUT,
  checkDetector,
  type DetectorView,
  type RawDetection,
  regionView,
  resizeRgb8,
  runDetector,
} from './blazeface.ts';
import { iou, suppressNested, weightedNms } from './nms.ts';
import { assertRgb, type PixelRect, planarToRgb8 } from './pixels.ts';

export interface DetectedFace {
  /** x, y, width, height in original pixels, clamped to the image. */
  box: [number, number, number, number];
  score: number;
  /** Six points in original pixels: eye image-left, eye image-right, nose, mouth centre, ear, ear. */
  keypoints: [number, number][];
}

export interface DetectOptions {
  /** Keep only the face nearest the centre (large faces preferred). */
  onlyCenterFace: boolean;
  maxFaces: number;
  /** Faces whose box is smaller than this (original px, longer side) are skipped. */
  minFaceSize: number;
  /** First-pass score threshold, 0.5 unless given. */
  threshold?: number;
}

export interface SkippedFace {
  reason: string;
  box: [number, number, number, number];
}

export interface DetectionResult {
  faces: DetectedFace[];
  skipped: SkippedFace[];
}

const NMS_IOU = 0.3;
/** Second pass on a crop around each candidate: BlazeFace's 0.5 lets textures through, 0.7 on a close view does not. */
const CONFIRM_CROP = 3;
const CONFIRM_THRESHOLD = 0.7;
/** Smallest face box, in detector-input pixels, BlazeFace still finds reliably (measured: ~10 px is marginal). */
const MIN_BOX_AT_INPUT = 16;
/** Faces down to this fraction of the image's long side must be found, hence tiles on big or wide images. */
const MIN_FACE_FRACTION = 0.04;
const TILE_OVERLAP = 0.25;
/** Closer than this the eyes carry no usable geometry for a restorer's crop. */
const MIN_EYE_DISTANCE = 5;

/**
 * Square-ish windows (at most the image) small enough that a face of `smallest` px spans
 * MIN_BOX_AT_INPUT detector pixels, overlapping by a quarter so a small face always lies whole in one.
 * Faces too big for the overlap are the full-image pass's job.
 */
export function detectionTiles(width: number, height: number, smallest: number): PixelRect[] {
  const side = Math.floor((smallest * BLAZEFACE_INPUT) / MIN_BOX_AT_INPUT);
  if (side >= Math.max(width, height)) return [];
  const tw = Math.min(side, width);
  const th = Math.min(side, height);
  const starts = (total: number, size: number): number[] => {
    if (size >= total) return [0];
    const n = Math.ceil((total - size) / (size * (1 - TILE_OVERLAP))) + 1;
    return Array.from({ length: n }, (_, i) => Math.round((i * (total - size)) / (n - 1)));
  };
  const tiles: PixelRect[] = [];
  for (const top of starts(height, th))
    for (const left of starts(width, tw)) tiles.push({ left, top, width: tw, height: th });
  return tiles;
}

/**
 * The tiles as windows of ONE resize of the whole image to the tiles' detection scale: the pixels a
 * resize of each tile would give (real neighbours instead of edge extension at tile borders), for one
 * sharp call instead of one per tile. All tiles have the same size.
 */
export async function tileViews(
  rgb8: Uint8Array,
  width: number,
  height: number,
  tiles: readonly PixelRect[],
): Promise<DetectorView[]> {
  const first = tiles[0];
  if (!first) return [];
  const k = BLAZEFACE_INPUT / Math.max(first.width, first.height);
  const rasterWidth = Math.max(1, Math.round(width * k));
  const rasterHeight = Math.max(1, Math.round(height * k));
  const raster = await resizeRgb8(rgb8, width, height, { left: 0, top: 0, width, height }, rasterWidth, rasterHeight);
  const unitX = width / rasterWidth;
  const unitY = height / rasterHeight;
  return tiles.map((t) => {
    const w = Math.max(1, Math.min(BLAZEFACE_INPUT, rasterWidth, Math.round(t.width / unitX)));
    const h = Math.max(1, Math.min(BLAZEFACE_INPUT, rasterHeight, Math.round(t.height / unitY)));
    return {
      raster,
      rasterWidth,
      left: Math.max(0, Math.min(rasterWidth - w, Math.round(t.left / unitX))),
      top: Math.max(0, Math.min(rasterHeight - h, Math.round(t.top / unitY))),
      width: w,
      height: h,
      originX: 0,
      originY: 0,
      unitX,
      unitY,
    };
  });
}

function boxSize(d: RawDetection): number {
  return Math.max(d.box[2] - d.box[0], d.box[3] - d.box[1]);
}

/** A square window CONFIRM_CROP× the box around its centre, clipped to the image. */
function confirmRegion(d: RawDetection, width: number, height: number): PixelRect {
  const side = boxSize(d) * CONFIRM_CROP;
  const cx = (d.box[0] + d.box[2]) / 2;
  const cy = (d.box[1] + d.box[3]) / 2;
  const left = Math.max(0, Math.floor(cx - side / 2));
  const top = Math.max(0, Math.floor(cy - side / 2));
  const right = Math.min(width, Math.ceil(cx + side / 2));
  const bottom = Math.min(height, Math.ceil(cy + side / 2));
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

function toFace(d: RawDetection, width: number, height: number): DetectedFace {
  const x0 = Math.max(0, Math.min(width, d.box[0]));
  const y0 = Math.max(0, Math.min(height, d.box[1]));
  const x1 = Math.max(0, Math.min(width, d.box[2]));
  const y1 = Math.max(0, Math.min(height, d.box[3]));
  const keypoints: [number, number][] = [];
  for (let k = 0; k < d.keypoints.length; k += 2) keypoints.push([d.keypoints[k]!, d.keypoints[k + 1]!]);
  return { box: [x0, y0, x1 - x0, y1 - y0], score: d.score, keypoints };
}

function roundBox(box: [number, number, number, number]): [number, number, number, number] {
  return box.map((v) => Math.round(v * 10) / 10) as [number, number, number, number];
}

/**
 * Finds faces: one pass on the whole image, tiled passes so small faces in wide or group photos reach
 * the detector's working size, weighted NMS across everything, then each candidate is confirmed on a
 * close-up crop (whose keypoints, seen at higher resolution, replace the first ones). Faces that cannot
 * be aligned or that the options exclude are returned in `skipped` with the reason.
 */
export async function detectFaces(
  detector: InferenceSession,
  image: PlanarImage,
  opts: DetectOptions,
): Promise<DetectionResult> {
  assertRgb(image, 'Face detection input');
  checkDetector(detector);
  const threshold = opts.threshold ?? 0.5;
  const { width, height } = image;
  const rgb8 = planarToRgb8(image);
  // One input buffer for every run: the runs are sequential and ORT reads it only during its run.
  const input = new Float32Array(BLAZEFACE_INPUT * BLAZEFACE_INPUT * 3);
  const failed = (err: unknown) =>
    new PhotoEnhanceError('INTERNAL', `Face detection failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  const run = async (view: DetectorView | Promise<DetectorView>, minScore: number) => {
    try {
      return await runDetector(detector, await view, minScore, input);
    } catch (err) {
      throw failed(err);
    }
  };

  const full: PixelRect = { left: 0, top: 0, width, height };
  const smallest = Math.max(opts.minFaceSize, MIN_FACE_FRACTION * Math.max(width, height));
  // The tiles' resize runs on sharp's thread while the whole-image pass runs in ORT.
  const tilesReady = tileViews(rgb8, width, height, detectionTiles(width, height, smallest)).catch((err: unknown) => {
    throw failed(err);
  });
  tilesReady.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  const raw: RawDetection[] = await run(regionView(rgb8, width, height, full), threshold);
  for (const view of await tilesReady) raw.push(...(await run(view, threshold)));
  // Nested boxes are only dropped after confirmation: a large false box must not hide a real face.
  const candidates = weightedNms(raw, NMS_IOU);

  const confirmed: RawDetection[] = [];
  for (const candidate of candidates) {
    const region = confirmRegion(candidate, width, height);
    const cropScale = BLAZEFACE_INPUT / Math.max(region.width, region.height);
    if (candidate.scale * 1.25 >= cropScale) {
      // A pass (whole image or tile) already looked at it about as closely as the close-up would.
      if (candidate.score >= CONFIRM_THRESHOLD) confirmed.push(candidate);
      continue;
    }
    const close = weightedNms(await run(regionView(rgb8, width, height, region), threshold), NMS_IOU);
    let best: RawDetection | undefined;
    let bestOverlap = NMS_IOU;
    for (const d of close) {
      const overlap = iou(d.box, candidate.box);
      if (overlap >= bestOverlap) {
        best = d;
        bestOverlap = overlap;
      }
    }
    if (best && best.score >= CONFIRM_THRESHOLD) confirmed.push(best);
  }

  // Confirmation can move boxes onto each other (two candidates on one face): merge again.
  const merged = suppressNested(weightedNms(confirmed, NMS_IOU));
  const skipped: SkippedFace[] = [];
  let faces: DetectedFace[] = [];
  for (const d of merged) {
    const face = toFace(d, width, height);
    const size = Math.max(face.box[2], face.box[3]);
    if (size < opts.minFaceSize) {
      skipped.push({
        reason: `face smaller than minFaceSize (${Math.round(size)} < ${opts.minFaceSize} px)`,
        box: roundBox(face.box),
      });
      continue;
    }
    const { eyeDistance, residual } = estimateAlignmentFromPoints(face.keypoints);
    if (eyeDistance < MIN_EYE_DISTANCE) {
      skipped.push({
        reason: `eyes ${eyeDistance.toFixed(1)} px apart, too small to restore (< ${MIN_EYE_DISTANCE} px)`,
        box: roundBox(face.box),
      });
      continue;
    }
    if (residual > MAX_ALIGNMENT_RESIDUAL) {
      skipped.push({
        reason: `profile or not a face (alignment residual ${(residual * 100).toFixed(1)} % of the crop > ${(MAX_ALIGNMENT_RESIDUAL * 100).toFixed(1)} %)`,
        box: roundBox(face.box),
      });
      continue;
    }
    faces.push(face);
  }

  const area = (f: DetectedFace) => f.box[2] * f.box[3];
  faces.sort((a, b) => area(b) - area(a));
  if (opts.onlyCenterFace && faces.length > 1) {
    // Central and large: area discounted by the distance of the box centre from the image centre.
    const halfDiagonal = Math.hypot(width, height) / 2;
    const weight = (f: DetectedFace) => {
      const d = Math.hypot(f.box[0] + f.box[2] / 2 - width / 2, f.box[1] + f.box[3] / 2 - height / 2);
      return area(f) * (1 - d / halfDiagonal) ** 2;
    };
    const centre = faces.reduce((best, f) => (weight(f) > weight(best) ? f : best));
    for (const f of faces)
      if (f !== centre) skipped.push({ reason: 'not the centre face (onlyCenterFace)', box: roundBox(f.box) });
    faces = [centre];
  }
  if (faces.length > opts.maxFaces) {
    for (const f of faces.slice(opts.maxFaces))
      skipped.push({
        reason: `more than maxFaces (${opts.maxFaces}); smaller faces left as they are`,
        box: roundBox(f.box),
      });
    faces = faces.slice(0, opts.maxFaces);
  }
  return { faces, skipped };
}
