import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { InferenceSession } from 'onnxruntime-node';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { PixelRect } from './pixels.ts';

/**
 * BlazeFace "back" (256×256, MediaPipe short/long-range family as converted by keijiro): one run on a
 * letterboxed region of an image, decoded into boxes and six keypoints in image pixels.
 */

export const BLAZEFACE_INPUT = 256;
const KEYPOINTS = 6;
const REGRESSORS = 4 + KEYPOINTS * 2;
/** Logits are clamped before the sigmoid like MediaPipe does, so extreme outputs stay finite. */
const SCORE_CLIP = 100;

/** A raw detection in source-image pixels (continuous coordinates: pixel i spans [i, i+1)). */
export interface RawDetection {
  /** x0, y0, x1, y1 */
  box: [number, number, number, number];
  /** x, y pairs: eye image-left, eye image-right, nose, mouth, ear, ear. */
  keypoints: number[];
  score: number;
  /** Detector pixels per image pixel of the pass that saw it: how closely it was looked at. */
  scale: number;
}

interface AnchorLayer {
  grid: number;
  perCell: number;
}

/** 16×16 cells × 2 anchors (stride 16 on 256) then 8×8 × 6 (stride 32): 896 anchors. */
const LAYERS: AnchorLayer[] = [
  { grid: 16, perCell: 2 },
  { grid: 8, perCell: 6 },
];

/** Anchor centres in [0,1], rows then columns then anchor, matching the model's output order. */
const ANCHORS: Float32Array = (() => {
  const total = LAYERS.reduce((n, l) => n + l.grid * l.grid * l.perCell, 0);
  const a = new Float32Array(total * 2);
  let k = 0;
  for (const { grid, perCell } of LAYERS) {
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        for (let i = 0; i < perCell; i++) {
          a[k++] = (x + 0.5) / grid;
          a[k++] = (y + 0.5) / grid;
        }
      }
    }
  }
  return a;
})();

interface OutputNames {
  scores: [string, string];
  boxes: [string, string];
}

const outputNamesCache = new WeakMap<InferenceSession, OutputNames>();

/**
 * The converted model names its outputs Identity:0…3; which one is which is read from the shapes
 * ([1,512,1] scores of the 16×16 layer, [1,384,16] boxes of the 8×8 layer…) rather than trusted by name.
 */
function outputNames(session: InferenceSession): OutputNames {
  const cached = outputNamesCache.get(session);
  if (cached) return cached;
  const found: Record<string, string> = {};
  const [first, second] = LAYERS.map((l) => l.grid * l.grid * l.perCell) as [number, number];
  for (const meta of session.outputMetadata) {
    if (!meta.isTensor) continue;
    const [, count, width] = meta.shape;
    const kind = width === 1 ? 'scores' : width === REGRESSORS ? 'boxes' : undefined;
    const layer = count === first ? 0 : count === second ? 1 : undefined;
    if (kind && layer !== undefined) found[`${kind}${layer}`] = meta.name;
  }
  const { scores0, scores1, boxes0, boxes1 } = found;
  const input = session.inputMetadata[0];
  const inputOk =
    session.inputMetadata.length === 1 &&
    input?.isTensor &&
    input.shape.join(',') === `1,${BLAZEFACE_INPUT},${BLAZEFACE_INPUT},3`;
  if (!scores0 || !scores1 || !boxes0 || !boxes1 || !inputOk) {
    throw new PhotoEnhanceError(
      'MODEL_INVALID',
      'The face detector is not a BlazeFace 256×256 back model (expected NHWC [1,256,256,3] input and 512/384-anchor outputs)',
      {
        details: { inputs: session.inputNames, outputs: session.outputNames },
      },
    );
  }
  const names: OutputNames = { scores: [scores0, scores1], boxes: [boxes0, boxes1] };
  outputNamesCache.set(session, names);
  return names;
}

/** Throws MODEL_INVALID when the session does not have the BlazeFace back contract. */
export function checkDetector(session: InferenceSession): void {
  outputNames(session);
}

/**
 * What one detector pass looks at: a window (at most 256×256) of an interleaved 8-bit RGB raster that
 * is the source image, or part of it, already resized; and how raster pixels map back to the source:
 * source = origin + raster position × unit, per axis (continuous coordinates).
 */
export interface DetectorView {
  raster: Uint8Array;
  /** Raster row length in pixels. */
  rasterWidth: number;
  /** The window, in raster pixels. */
  left: number;
  top: number;
  width: number;
  height: number;
  originX: number;
  originY: number;
  unitX: number;
  unitY: number;
}

/** Size a region takes to fit the detector input with its aspect kept (the longer side becomes 256). */
function detectorFit(width: number, height: number): { width: number; height: number } {
  const scale = BLAZEFACE_INPUT / Math.max(width, height);
  return {
    width: Math.max(1, Math.min(BLAZEFACE_INPUT, Math.round(width * scale))),
    height: Math.max(1, Math.min(BLAZEFACE_INPUT, Math.round(height * scale))),
  };
}

/** `region` of an interleaved 8-bit RGB image resized to width×height with Lanczos-3 (one sharp call). */
export async function resizeRgb8(
  rgb8: Uint8Array,
  imageWidth: number,
  imageHeight: number,
  region: PixelRect,
  width: number,
  height: number,
): Promise<Uint8Array> {
  const isWhole = region.left === 0 && region.top === 0 && region.width === imageWidth && region.height === imageHeight;
  let pipeline = sharp(rgb8, { raw: { width: imageWidth, height: imageHeight, channels: 3 } });
  if (!isWhole) pipeline = pipeline.extract(region);
  if (width !== region.width || height !== region.height)
    pipeline = pipeline.resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
  return pipeline.raw().toBuffer();
}

/**
 * One detector run on a view: every anchor over `threshold`, mapped back to source pixels. The window
 * goes top-left into the 256×256 input, the rest is black, so the padding never shifts coordinates.
 * `input` is a reusable 256×256×3 buffer (runs of one detection are sequential).
 */
export async function runDetector(
  session: InferenceSession,
  view: DetectorView,
  threshold: number,
  input: Float32Array = new Float32Array(BLAZEFACE_INPUT * BLAZEFACE_INPUT * 3),
): Promise<RawDetection[]> {
  const names = outputNames(session);
  const S = BLAZEFACE_INPUT;
  const { raster, rasterWidth, left, top, width: w, height: h } = view;
  // NHWC in [-1, 1]; letterbox = black = -1.
  input.fill(-1);
  const rowLength = w * 3;
  for (let y = 0; y < h; y++) {
    let s = ((top + y) * rasterWidth + left) * 3;
    let o = y * S * 3;
    for (let i = 0; i < rowLength; i++) input[o++] = raster[s++]! / 127.5 - 1;
  }
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, [1, S, S, 3]) };
  const out = await session.run(feeds);

  // Model units are fractions of the 256 input: → window px → raster px → source px.
  const { originX, originY, unitX, unitY } = view;
  const toX = (u: number) => originX + (left + u * S) * unitX;
  const toY = (v: number) => originY + (top + v * S) * unitY;
  const scale = 1 / Math.max(unitX, unitY);
  // sigmoid(logit) ≥ threshold ⇔ logit ≥ logit(threshold): no exp for the anchors that clearly fail
  // (the margin leaves rounding cases to the exact test below).
  const minLogit =
    threshold <= 0 ? -Infinity : threshold >= 1 ? Infinity : Math.log(threshold / (1 - threshold)) - 1e-6;
  const found: RawDetection[] = [];
  let anchor = 0;
  for (let layer = 0; layer < LAYERS.length; layer++) {
    const scores = out[names.scores[layer]!]!.data as Float32Array;
    const boxes = out[names.boxes[layer]!]!.data as Float32Array;
    for (let i = 0; i < scores.length; i++, anchor++) {
      const logit = Math.max(-SCORE_CLIP, Math.min(SCORE_CLIP, scores[i]!));
      if (logit < minLogit) continue;
      const score = 1 / (1 + Math.exp(-logit));
      if (score < threshold) continue;
      const ax = ANCHORS[anchor * 2]!;
      const ay = ANCHORS[anchor * 2 + 1]!;
      const r = i * REGRESSORS;
      const cx = ax + boxes[r]! / S;
      const cy = ay + boxes[r + 1]! / S;
      const bw = boxes[r + 2]! / S;
      const bh = boxes[r + 3]! / S;
      const keypoints: number[] = [];
      for (let k = 0; k < KEYPOINTS; k++) {
        keypoints.push(toX(ax + boxes[r + 4 + 2 * k]! / S), toY(ay + boxes[r + 5 + 2 * k]! / S));
      }
      found.push({
        box: [toX(cx - bw / 2), toY(cy - bh / 2), toX(cx + bw / 2), toY(cy + bh / 2)],
        keypoints,
        score,
        scale,
      });
    }
  }
  return found;
}

/** The view of `region` resized to fit the detector input on its own (aspect kept). */
export async function regionView(
  rgb8: Uint8Array,
  imageWidth: number,
  imageHeight: number,
  region: PixelRect,
): Promise<DetectorView> {
  const { width, height } = detectorFit(region.width, region.height);
  const raster = await resizeRgb8(rgb8, imageWidth, imageHeight, region, width, height);
  return {
    raster,
    rasterWidth: width,
    left: 0,
    top: 0,
    width,
    height,
    originX: region.left,
    originY: region.top,
    // Per axis: rounding of the fitted size makes the two differ slightly.
    unitX: region.width / width,
    unitY: region.height / height,
  };
}

/**
 * Runs the detector on `region` of an interleaved 8-bit RGB image and returns every anchor over
 * `threshold`, mapped back to image pixels. The region is scaled to fit 256×256 (aspect kept).
 */
export async function detectInRegion(
  session: InferenceSession,
  rgb8: Uint8Array,
  imageWidth: number,
  imageHeight: number,
  region: PixelRect,
  threshold: number,
): Promise<RawDetection[]> {
  outputNames(session);
  return runDetector(session, await regionView(rgb8, imageWidth, imageHeight, region), threshold);
}
