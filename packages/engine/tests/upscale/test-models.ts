/** Small ONNX models and images for upscaler tests (built in memory; nothing is committed). */

import type { PlanarImage } from '@photoenhance/image';
import { mulberry32, OnnxGraphBuilder } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import { type ModelSession, wrapSession } from '../../src/runtime/model-session.ts';

/** A 3→3 3×3 conv whose weights are positive and sum to ~1 per output channel, plus a bias. */
function smoothingConv(random: () => number): { weights: Float32Array; bias: Float32Array } {
  const weights = new Float32Array(3 * 3 * 9);
  for (let o = 0; o < 3; o++) {
    let sum = 0;
    for (let k = 0; k < 27; k++) sum += weights[o * 27 + k] = random() + (Math.floor(k / 9) === o ? 1 : 0);
    for (let k = 0; k < 27; k++) weights[o * 27 + k]! /= sum;
  }
  const bias = Float32Array.from({ length: 3 }, () => (random() - 0.5) * 0.1);
  return { weights, bias };
}

export interface TestModelOptions {
  /** 3×3 convs at input resolution before the ×4 (each widens the receptive field by 1 input px). */
  inputConvs?: number;
  /** Numeric batch dim (e.g. 1) instead of a dynamic one. */
  fixedBatch?: number;
  scale?: number;
  seed?: number;
}

/**
 * "×4 nearest + local 3×3 convs": zero-padded convs give it a receptive field, so a tile cut without
 * context shows at its edges, and nearest upsampling makes the expected output easy to reason about.
 */
export function buildUpscaleModel(options: TestModelOptions = {}): Uint8Array {
  const { inputConvs = 2, fixedBatch, scale = 4, seed = 1 } = options;
  const random = mulberry32(seed);
  const g = new OnnxGraphBuilder('test-upscaler');
  const n = fixedBatch ?? 'n';
  g.input('input', [n, 3, 'h', 'w']);
  let current = 'input';
  const conv = (name: string) => {
    const { weights, bias } = smoothingConv(random);
    g.initializer(`${name}_w`, [3, 3, 3, 3], weights).initializer(`${name}_b`, [3], bias);
    g.node('Conv', [current, `${name}_w`, `${name}_b`], [name], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    current = name;
  };
  for (let i = 0; i < inputConvs; i++) conv(`pre${i}`);
  g.initializer('scales', [4], Float32Array.from([1, 1, scale, scale]));
  g.node('Resize', [current, '', 'scales'], ['up'], { mode: 'nearest' });
  current = 'up';
  conv('post');
  g.node('Identity', [current], ['output']);
  g.output('output', [n, 3, 'oh', 'ow']);
  return g.toBytes();
}

export async function testSession(options: TestModelOptions = {}, id = 'test-upscaler'): Promise<ModelSession> {
  const session = await ort.InferenceSession.create(buildUpscaleModel(options), { intraOpNumThreads: 1 });
  return wrapSession(id, session, 'cpu');
}

/**
 * Gradients plus noise: statistically the same everywhere (no content edges), so a seam detector's
 * boundary statistic and its neighbours' agree unless the tiling adds something.
 */
export function smoothImage(width: number, height: number, seed = 7): PlanarImage {
  const random = mulberry32(seed);
  const data = new Float32Array(width * height * 3);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const v = 0.2 + (0.3 * (x + c)) / width + (0.3 * (y + 2 * c)) / height + 0.2 * (random() - 0.5);
        data[c * width * height + y * width + x] = Math.min(1, Math.max(0, v));
      }
  return { width, height, channels: 3, data };
}

/** The model run once on the bare image (no tiling, no reflect padding): the reference. */
export async function bareRun(session: ModelSession, image: PlanarImage): Promise<Float32Array> {
  const out = await session.run({
    [session.inputNames[0]!]: new ort.Tensor('float32', image.data, [1, 3, image.height, image.width]),
  });
  return Float32Array.from(out[session.outputNames[0]!]!.data as Float32Array, (v) => Math.min(1, Math.max(0, v)));
}

/** Largest |a − b| over the pixels at least `margin` output px away from the image border. */
export function interiorMaxDiff(
  a: Float32Array,
  b: Float32Array,
  width: number,
  height: number,
  margin: number,
): number {
  let max = 0;
  for (let c = 0; c < 3; c++)
    for (let y = margin; y < height - margin; y++)
      for (let x = margin; x < width - margin; x++) {
        const i = c * width * height + y * width + x;
        max = Math.max(max, Math.abs(a[i]! - b[i]!));
      }
  return max;
}

/**
 * Seam detector: mean |out[x] − out[x−1]| over all rows and planes for the column step at a boundary,
 * divided by the mean of the same statistic at the aligned steps around it (x ± scale, x ± 2·scale),
 * which see the same smooth content. A hard edge makes the boundary step stand out (ratio ≫ 1); a dark
 * or bright band centred on it makes the neighbouring steps stand out instead (ratio ≪ 1). Returns
 * the worst boundary as max(ratio, 1 / ratio): 1 = no seam.
 */
export function columnSeamRatio(image: PlanarImage, boundaries: number[], scale: number): number {
  const { width, height, data } = image;
  const step = new Float64Array(width);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < height; y++) {
      const row = c * width * height + y * width;
      for (let x = 1; x < width; x++) step[x]! += Math.abs(data[row + x]! - data[row + x - 1]!);
    }
  return Math.max(
    ...boundaries.map((b) => {
      const around = [b - 2 * scale, b - scale, b + scale, b + 2 * scale].map((x) => step[x]!);
      const ratio = step[b]! / (around.reduce((a, v) => a + v, 0) / around.length);
      return Math.max(ratio, 1 / ratio);
    }),
  );
}

/** Transposes planes so the column seam detector can look at rows. */
export function transpose(image: PlanarImage): PlanarImage {
  const { width, height, data } = image;
  const out = new Float32Array(data.length);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        out[c * width * height + x * height + y] = data[c * width * height + y * width + x]!;
  return { width: height, height: width, channels: 3, data: out };
}
