/**
 * Empirical bias correction (Nagel et al. 2019, §4.2): quantized weights and activations shift the
 * expected output of each convolution per channel (E[ΔW·x] ≠ 0). Measured on the calibration inputs
 * as the per-channel mean of (quantized conv − fp32 conv) on the quantized graph's own input to that
 * conv, and subtracted from the fp32 bias the quantizer then rounds. (Comparing with the fp32 graph's
 * output instead counts every upstream shift again at each layer: corrected all at once, that diverges.)
 * A second pass corrects what the changed inputs of the first left.
 *
 * The quantized graph is run with onnxruntime's basic optimizations only: its QDQ pairs stay
 * DequantizeLinear(QuantizeLinear(x)), the same rounding the fused integer kernels do, and the conv
 * outputs stay visible as graph outputs.
 *
 * Corrections are rounded to 2⁻¹⁴ so last-bit differences between CPUs do not change the bytes.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { CalibrationInput } from './calibrate.ts';
import { DataType, decodeModel, type INodeProto, type ITensorProto, onnx, toNumber } from './proto.ts';

export interface BiasCorrectionOptions {
  passes?: number;
  /** Convs measured per run (bounds memory: each exposes two full activation tensors). */
  chunk?: number;
  intraOpNumThreads?: number;
}

export interface BiasCorrectionResult {
  /** The fp32 model with corrected biases (quantize it with the same function and ranges). */
  bytes: Uint8Array;
  /** Per pass: the mean |per-channel output shift| measured before that pass's correction. */
  meanShift: number[];
}

const GRID = 2 ** -14;

export async function correctBiases(
  fp32Bytes: Uint8Array,
  quantize: (fp32: Uint8Array) => Uint8Array,
  inputs: readonly CalibrationInput[],
  options: BiasCorrectionOptions = {},
): Promise<BiasCorrectionResult> {
  const passes = options.passes ?? 2;
  const { graph } = decodeModel(fp32Bytes);
  const inits = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  const convs = graph.node.filter((n) => n.opType === 'Conv' && n.input?.[2] && inits.has(n.input[2]));
  const corrected = new Map(convs.map((n) => [n.input![2]!, floats(inits.get(n.input![2]!)!)]));
  let current = fp32Bytes;
  const meanShift: number[] = [];
  for (let pass = 0; pass < passes; pass++) {
    const shifts = await localShifts(quantize(current), fp32Bytes, convs, inputs, options);
    let sum = 0;
    let count = 0;
    for (const n of convs) {
      const bias = corrected.get(n.input![2]!)!;
      const shift = shifts.get(n.name ?? '');
      if (!shift) continue;
      for (let c = 0; c < bias.length; c++) {
        sum += Math.abs(shift[c]!);
        count++;
        bias[c] = Math.fround(bias[c]! - Math.round(shift[c]! / GRID) * GRID);
      }
    }
    meanShift.push(count ? sum / count : 0);
    current = withFloats(fp32Bytes, corrected);
  }
  return { bytes: current, meanShift };
}

/**
 * Per conv, the mean per-channel difference between its output in the quantized graph and the
 * original fp32 conv (weights and bias of `fp32Bytes`) applied to the same input — the quantized graph's own input
 * to that conv, so that upstream errors are not counted again at every layer downstream.
 */
async function localShifts(
  quantized: Uint8Array,
  fp32Bytes: Uint8Array,
  convs: readonly INodeProto[],
  inputs: readonly CalibrationInput[],
  options: BiasCorrectionOptions,
): Promise<Map<string, Float64Array>> {
  const chunk = options.chunk ?? 16;
  const threads = options.intraOpNumThreads ?? 0;
  const qNodes = new Map(decodeModel(quantized).graph.node.map((n) => [n.name ?? '', n]));
  const fpInits = new Map(decodeModel(fp32Bytes).graph.initializer.map((t) => [t.name ?? '', t]));
  const inputName = decodeModel(quantized).graph.input[0]?.name ?? '';
  const shifts = new Map<string, Float64Array>();
  const present = convs.filter((n) => qNodes.has(n.name ?? ''));
  for (let start = 0; start < present.length; start += chunk) {
    const part = present.slice(start, start + chunk).map((n) => ({ fp: n, q: qNodes.get(n.name ?? '')! }));
    const exposed = [...new Set(part.flatMap(({ q }) => [q.input![0]!, q.output![0]!]))];
    const session = await InferenceSession.create(withOutputs(quantized, exposed), {
      intraOpNumThreads: threads,
      graphOptimizationLevel: 'basic',
    });
    const singles = await Promise.all(
      part.map(({ fp }) => InferenceSession.create(singleConv(fp, fpInits), { intraOpNumThreads: threads })),
    );
    try {
      const sums = part.map(() => ({ q: new Float64Array(0), f: new Float64Array(0), pixels: 0 }));
      for (const input of inputs) {
        const result = await session.run({ [inputName]: new Tensor('float32', input.data, input.dims) }, exposed);
        for (const [i, { q }] of part.entries()) {
          const x = result[q.input![0]!]!;
          const y = result[q.output![0]!]!;
          const reference = (await singles[i]!.run({ x }, ['y'])).y!;
          const qm = channelSums(y);
          const fm = channelSums(reference);
          const acc = sums[i]!;
          if (acc.q.length === 0) {
            acc.q = new Float64Array(qm.sums.length);
            acc.f = new Float64Array(qm.sums.length);
          }
          for (let c = 0; c < qm.sums.length; c++) {
            acc.q[c]! += qm.sums[c]!;
            acc.f[c]! += fm.sums[c]!;
          }
          acc.pixels += qm.pixels;
        }
      }
      for (const [i, { fp }] of part.entries()) {
        const { q, f, pixels } = sums[i]!;
        shifts.set(
          fp.name ?? '',
          Float64Array.from(q, (v, c) => (v - f[c]!) / pixels),
        );
      }
    } finally {
      await session.release();
      await Promise.all(singles.map((s) => s.release()));
    }
  }
  return shifts;
}

function channelSums(t: Tensor): { sums: Float64Array; pixels: number } {
  const [, c = 1, h = 1, w = 1] = t.dims.map((d) => toNumber(d));
  const data = t.data as Float32Array;
  const sums = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = ch * h * w; i < (ch + 1) * h * w; i++) s += data[i]!;
    sums[ch] = s;
  }
  return { sums, pixels: h * w };
}

function withOutputs(bytes: Uint8Array, names: readonly string[]): Uint8Array {
  const { model } = decodeModel(bytes);
  const existing = new Set((model.graph!.output ?? []).map((o) => o.name ?? ''));
  model.graph!.output = [
    ...(model.graph!.output ?? []),
    ...names
      .filter((n) => !existing.has(n))
      .map((name) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } })),
  ];
  return onnx.ModelProto.encode(model).finish();
}

/** A one-node model: the fp32 conv `n` with its weights and bias, input "x", output "y". */
function singleConv(n: INodeProto, inits: ReadonlyMap<string, ITensorProto>): Uint8Array {
  const [, w, b] = n.input!;
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'conv',
        node: [{ ...n, input: ['x', w!, b!], output: ['y'] }],
        initializer: [inits.get(w!)!, inits.get(b!)!],
        input: [{ name: 'x', type: { tensorType: { elemType: 1 } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      },
    }),
  ).finish();
}

function floats(t: ITensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new Error(`bias correction: "${t.name}" is not float32`);
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    return Float32Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
  }
  return Float32Array.from(t.floatData ?? []);
}

/** A copy of the model with the named float initializers replaced. */
function withFloats(bytes: Uint8Array, values: ReadonlyMap<string, Float32Array>): Uint8Array {
  const { model } = decodeModel(bytes);
  model.graph!.initializer = (model.graph!.initializer ?? []).map((t) => {
    const v = values.get(t.name ?? '');
    if (!v) return t;
    const raw = new Uint8Array(v.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
    return onnx.TensorProto.create({ ...t, rawData: raw, floatData: [] });
  });
  return onnx.ModelProto.encode(model).finish();
}
