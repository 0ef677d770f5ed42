/**
 * Activation-range calibration for static quantization: runs the fp32 model with onnxruntime-node on
 * a few inputs, with the wanted intermediate tensors exposed as extra graph outputs (in chunks, so
 * the memory of one run stays bounded), and keeps each tensor's min and max over all inputs.
 *
 * The ranges are rounded outwards to a coarse grid (1/32 of the range's power of two), so that the
 * last-bit differences between CPUs, thread counts and kernels do not change the quantized model:
 * the prepared file, and its pinned sha256, stay the same everywhere.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { decodeModel, onnx } from './proto.ts';
import type { TensorRange } from './quantize-qdq.ts';

export interface CalibrationInput {
  /** NCHW float32. */
  data: Float32Array;
  dims: readonly number[];
}

export interface CalibrateOptions {
  /** Extra outputs per run (bounds memory: each is a full activation tensor). */
  chunk?: number;
  intraOpNumThreads?: number;
  /**
   * Percentile of each tail kept (100 = plain min/max). Activations of these nets are heavy-tailed:
   * clipping the rarest values buys resolution for all the others.
   */
  percentile?: number;
}

export async function calibrateRanges(
  fp32Bytes: Uint8Array,
  tensors: readonly string[],
  inputs: readonly CalibrationInput[],
  options: CalibrateOptions = {},
): Promise<Map<string, TensorRange>> {
  const chunk = options.chunk ?? 160;
  const ranges = new Map<string, TensorRange>();
  const { graph } = decodeModel(fp32Bytes);
  const inputName = graph.input[0]?.name ?? '';
  const existing = new Set(graph.output.map((o) => o.name ?? ''));
  for (let start = 0; start < tensors.length; start += chunk) {
    const names = tensors.slice(start, start + chunk);
    const { model } = decodeModel(fp32Bytes);
    model.graph!.output = [
      ...(model.graph!.output ?? []),
      ...names
        .filter((n) => !existing.has(n))
        .map((name) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } })),
    ];
    const session = await InferenceSession.create(onnx.ModelProto.encode(model).finish(), {
      intraOpNumThreads: options.intraOpNumThreads ?? 0,
      // the requested tensors must survive as they are in the fp32 graph
      graphOptimizationLevel: 'basic',
    });
    try {
      for (const input of inputs) {
        const result = await session.run({ [inputName]: new Tensor('float32', input.data, input.dims) }, names);
        for (const name of names) {
          const { lo, hi } = tails(result[name]!.data as Float32Array, options.percentile ?? 100);
          const seen = ranges.get(name);
          ranges.set(name, seen ? { min: Math.min(seen.min, lo), max: Math.max(seen.max, hi) } : { min: lo, max: hi });
        }
      }
    } finally {
      await session.release();
    }
  }
  for (const [name, r] of ranges) ranges.set(name, { min: roundOut(r.min, -1), max: roundOut(r.max, 1) });
  return ranges;
}

const BINS = 4096;

/** The values at the (100 − p) and p percentiles (min and max for p = 100), to 1/4096 of the span. */
function tails(values: Float32Array, percentile: number): { lo: number; hi: number } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (percentile >= 100 || hi <= lo) return { lo, hi };
  const histogram = new Float64Array(BINS);
  const k = (BINS - 1) / (hi - lo);
  for (let i = 0; i < values.length; i++) histogram[Math.floor((values[i]! - lo) * k)]! += 1;
  const cut = (values.length * (100 - percentile)) / 100;
  let below = 0;
  let first = 0;
  while (first < BINS - 1 && below + histogram[first]! <= cut) below += histogram[first++]!;
  let above = 0;
  let last = BINS - 1;
  while (last > first && above + histogram[last]! <= cut) above += histogram[last--]!;
  return { lo: lo + first / k, hi: lo + (last + 1) / k };
}

/**
 * Rounds |v| up to a multiple of 2^(⌊log2 |v|⌋ − 5) on the side of zero `direction` points to; a bound
 * on the other side becomes 0 (the quantizer widens every range to contain 0 anyway).
 */
function roundOut(v: number, direction: 1 | -1): number {
  if (v * direction <= 0) return 0;
  const step = 2 ** (Math.floor(Math.log2(Math.abs(v))) - 5);
  return direction * Math.ceil(Math.abs(v) / step) * step;
}
