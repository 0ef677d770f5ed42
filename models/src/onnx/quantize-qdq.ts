/**
 * Static post-training quantization of an fp32 CNN into ONNX QDQ form, in the pattern onnxruntime's
 * CPU provider fuses (QDQSelectorActionTransformer): DequantizeLinear → Conv → QuantizeLinear becomes
 * QLinearConv (u8 activations, s8 per-channel weights, int32 bias), DQ → Add/Mul → Q becomes
 * QLinearAdd/QLinearMul, DQ… → Concat → Q QLinearConcat, DQ → LeakyRelu → Q QLinearLeakyRelu (a
 * lookup table). Every quantized activation tensor T is written once as Q(T) → DQ and all its
 * quantized readers take the DQ output.
 *
 * - Weights: symmetric per output channel, s8 in [-127, 127] (zero point 0, DequantizeLinear axis 0).
 * - Bias: int32 with scale x_scale·w_scale[c], as QLinearConv requires.
 * - Activations: asymmetric u8 with the calibrated range widened to include 0 (so 0 is exact: padding).
 * - Conv → Relu (Relu the conv's only reader) is folded: the conv output takes the Relu's range,
 *   which starts at 0, so the u8 clamp of the quantized conv is the Relu.
 * - Convs named in `floatConvs` stay fp32 (mixed precision); their inputs are dequantized.
 * - Ops outside QUANTIZED_OPS (Resize, DepthToSpace, …) run in fp32 on dequantized inputs, and the
 *   graph outputs stay fp32.
 *
 * Deterministic: same model and ranges in, same bytes out.
 */
import {
  DataType,
  decodeModel,
  type INodeProto,
  type ITensorProto,
  type IValueInfoProto,
  onnx,
  toNumber,
} from './proto.ts';

export interface TensorRange {
  min: number;
  max: number;
}

export interface QdqOptions {
  /** Calibrated range of every tensor `quantizationTargets` lists. */
  ranges: ReadonlyMap<string, TensorRange>;
  /** Conv node names kept in fp32. */
  floatConvs?: ReadonlySet<string>;
  /**
   * Nodes of any op kept in fp32 (a whole layer: its conv and the activation after it), for mixed
   * precision and per-layer sensitivity. Their convs also keep fp32 weights.
   */
  floatNodes?: ReadonlySet<string>;
  /**
   * Keep the non-conv ops that write a graph output (the final residual Add of an upscaler) in fp32,
   * so that the image is not rebuilt from u8 inputs: the output's last step is where 8 bits show most.
   */
  floatOutputOps?: boolean;
  /**
   * 'static' (default): u8 activations + s8 weights, integer kernels.
   * 'weights': s8 weights dequantized at load time, fp32 compute (smaller file, same speed: a baseline).
   */
  mode?: 'static' | 'weights';
}

/** Ops whose inputs and outputs are quantized (others run in fp32 between DQ and the next Q). */
const QUANTIZED_OPS = new Set(['Conv', 'Add', 'Mul', 'Concat', 'LeakyRelu', 'PRelu']);

const WEIGHT_MAX = 127;

interface Graph {
  nodes: INodeProto[];
  initializers: Map<string, ITensorProto>;
  inputs: IValueInfoProto[];
  outputs: IValueInfoProto[];
}

/** The tensors whose ranges the quantizer needs (names exist in the fp32 graph: calibrate these). */
export function quantizationTargets(
  fp32Bytes: Uint8Array,
  floatConvs: ReadonlySet<string> = new Set(),
  floatNodes: ReadonlySet<string> = new Set(),
  floatOutputOps = false,
): string[] {
  const floats = new Set([...floatConvs, ...floatNodes]);
  const graph = foldConvRelu(load(fp32Bytes), floats);
  return plan(graph, floats, floatNodes, floatOutputOps).activations;
}

export function quantizeQdq(fp32Bytes: Uint8Array, options: QdqOptions): Uint8Array {
  const { model } = decodeModel(fp32Bytes);
  const floatConvs = new Set([...(options.floatConvs ?? []), ...(options.floatNodes ?? [])]);
  const floatNodes = options.floatNodes ?? new Set<string>();
  const mode = options.mode ?? 'static';
  const graph = mode === 'static' ? foldConvRelu(load(fp32Bytes), floatConvs) : load(fp32Bytes);
  const { activations, quantizedNodes } = plan(graph, floatConvs, floatNodes, options.floatOutputOps ?? false);
  const activationSet = new Set(mode === 'static' ? activations : []);

  const params = new Map<string, { scale: number; zeroPoint: number }>();
  for (const name of activationSet) {
    const range = options.ranges.get(name);
    if (!range) throw new Error(`quantize: no calibrated range for tensor "${name}"`);
    params.set(name, activationParams(range));
  }

  const newInits: ITensorProto[] = [];
  /** Per-channel weight scales by weight initializer name, for the bias that follows. */
  const weightScales = new Map<string, Float32Array>();
  const out: INodeProto[] = [];
  const dqName = (t: string) => `${t}__dq`;
  const emitQdq = (t: string): void => {
    const p = params.get(t)!;
    newInits.push(floatScalar(`${t}__scale`, p.scale), u8Scalar(`${t}__zp`, p.zeroPoint));
    out.push(
      node('QuantizeLinear', [t, `${t}__scale`, `${t}__zp`], [`${t}__q`], `${t}__quantize`),
      node('DequantizeLinear', [`${t}__q`, `${t}__scale`, `${t}__zp`], [dqName(t)], `${t}__dequantize`),
    );
  };
  const producedByQuantized = new Set<string>();
  for (const n of graph.nodes) if (quantizedNodes.has(n)) for (const o of n.output ?? []) producedByQuantized.add(o);

  for (const input of graph.inputs) if (activationSet.has(input.name ?? '')) emitQdq(input.name ?? '');
  for (const n of graph.nodes) {
    const quantized = mode === 'static' && quantizedNodes.has(n);
    const inputs = (n.input ?? []).map((name, index) => {
      if (name === '') return name;
      const init = graph.initializers.get(name);
      if (init) {
        if (n.opType === 'Conv' && !floatConvs.has(n.name ?? '') && index === 1) {
          return quantizeWeights(name, init, newInits, out, weightScales);
        }
        if (quantized && n.opType === 'Conv' && index === 2) {
          const x = params.get(n.input![0]!);
          const w = weightScales.get(n.input![1]!);
          if (!x || !w) throw new Error(`quantize: Conv "${n.name}" bias without quantized input/weights`);
          return quantizeBias(name, init, x.scale, w, newInits, out);
        }
        if (quantized && (n.opType === 'Add' || n.opType === 'Mul')) return quantizeConstant(name, init, newInits, out);
        return name;
      }
      // dequantized readers: quantized nodes, and every reader of a tensor a quantized node produced
      // (its producer must feed the QuantizeLinear alone to be fused)
      return activationSet.has(name) && (quantized || producedByQuantized.has(name)) ? dqName(name) : name;
    });
    out.push({ ...n, input: inputs });
    for (const o of n.output ?? []) if (activationSet.has(o)) emitQdq(o);
  }

  const modelGraph = model.graph!;
  const kept = [...graph.initializers.values()].filter((t) => out.some((n) => n.input?.includes(t.name ?? '')));
  modelGraph.node = out.map((n) => onnx.NodeProto.create(n));
  modelGraph.initializer = [...kept, ...newInits].map((t) => onnx.TensorProto.create(t));
  modelGraph.valueInfo = [];
  model.producerName = 'photoenhance-models (qdq)';
  return onnx.ModelProto.encode(model).finish();
}

function load(bytes: Uint8Array): Graph {
  const { graph } = decodeModel(bytes);
  return {
    nodes: graph.node.map((n) => ({ ...n, input: [...(n.input ?? [])], output: [...(n.output ?? [])] })),
    initializers: new Map(graph.initializer.map((t) => [t.name ?? '', t])),
    inputs: graph.input,
    outputs: graph.output,
  };
}

/**
 * Quantized Conv whose only reader is Relu: the Relu disappears and the conv writes the Relu's output
 * (whose range starts at 0: the u8 clamp of QuantizeLinear is the Relu).
 */
function foldConvRelu(graph: Graph, floatConvs: ReadonlySet<string>): Graph {
  const readers = readersOf(graph.nodes);
  const outputs = new Set(graph.outputs.map((o) => o.name ?? ''));
  const drop = new Set<INodeProto>();
  for (const n of graph.nodes) {
    if (n.opType !== 'Conv' || floatConvs.has(n.name ?? '')) continue;
    const y = n.output![0]!;
    const r = readers.get(y) ?? [];
    if (r.length === 1 && r[0]!.opType === 'Relu' && !outputs.has(y)) {
      n.output = [r[0]!.output![0]!];
      drop.add(r[0]!);
    }
  }
  return { ...graph, nodes: graph.nodes.filter((n) => !drop.has(n)) };
}

function readersOf(nodes: INodeProto[]): Map<string, INodeProto[]> {
  const readers = new Map<string, INodeProto[]>();
  for (const n of nodes) for (const i of n.input ?? []) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  return readers;
}

/**
 * Which nodes run quantized, and which activation tensors get a Q → DQ pair: every non-initializer
 * tensor read by a quantized node or written by one, except the graph outputs (they stay fp32).
 */
function plan(
  graph: Graph,
  floatConvs: ReadonlySet<string>,
  floatNodes: ReadonlySet<string> = new Set(),
  floatOutputOps = false,
): { activations: string[]; quantizedNodes: Set<INodeProto> } {
  const outputs = new Set(graph.outputs.map((o) => o.name ?? ''));
  const quantizedNodes = new Set(
    graph.nodes.filter(
      (n) =>
        QUANTIZED_OPS.has(n.opType ?? '') &&
        !floatNodes.has(n.name ?? '') &&
        !(n.opType === 'Conv' && floatConvs.has(n.name ?? '')) &&
        !(floatOutputOps && n.opType !== 'Conv' && (n.output ?? []).some((o) => outputs.has(o))),
    ),
  );
  const activations: string[] = [];
  const seen = new Set<string>();
  const add = (t: string) => {
    if (t && !seen.has(t) && !graph.initializers.has(t) && !outputs.has(t)) {
      seen.add(t);
      activations.push(t);
    }
  };
  const readers = readersOf(graph.nodes);
  for (const input of graph.inputs) {
    if ((readers.get(input.name ?? '') ?? []).some((r) => quantizedNodes.has(r))) add(input.name ?? '');
  }
  for (const n of graph.nodes) {
    if (quantizedNodes.has(n)) for (const o of n.output ?? []) add(o);
    for (const o of n.output ?? []) if ((readers.get(o) ?? []).some((r) => quantizedNodes.has(r))) add(o);
  }
  return { activations, quantizedNodes };
}

/** u8 scale and zero point for a range (widened to contain 0 so that zero padding is exact). */
export function activationParams(range: TensorRange): { scale: number; zeroPoint: number } {
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

function floatValues(t: ITensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new Error(`quantize: initializer "${t.name}" is not float32`);
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    return Float32Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
  }
  return Float32Array.from(t.floatData ?? []);
}

function dimsOf(t: ITensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d));
}

/** s8 symmetric per output channel (axis 0); returns the DequantizeLinear output name. */
function quantizeWeights(
  name: string,
  t: ITensorProto,
  inits: ITensorProto[],
  nodes: INodeProto[],
  weightScales: Map<string, Float32Array>,
): string {
  const dims = dimsOf(t);
  const w = floatValues(t);
  const channels = dims[0]!;
  const per = w.length / channels;
  const scales = new Float32Array(channels);
  const q = new Int8Array(w.length);
  for (let c = 0; c < channels; c++) {
    let maxAbs = 0;
    for (let i = c * per; i < (c + 1) * per; i++) maxAbs = Math.max(maxAbs, Math.abs(w[i]!));
    const s = Math.fround(maxAbs > 0 ? maxAbs / WEIGHT_MAX : 1);
    scales[c] = s;
    for (let i = c * per; i < (c + 1) * per; i++)
      q[i] = Math.max(-WEIGHT_MAX, Math.min(WEIGHT_MAX, Math.round(w[i]! / s)));
  }
  weightScales.set(name, scales);
  return dequantized(
    name,
    { name: `${name}__q`, dims, dataType: DataType.INT8, rawData: new Uint8Array(q.buffer) },
    floatTensor(`${name}__scale`, [channels], scales),
    { name: `${name}__zp`, dims: [channels], dataType: DataType.INT8, rawData: new Uint8Array(channels) },
    inits,
    nodes,
    0,
  );
}

/** int32 bias with scale x_scale·w_scale[c] (zero point 0), the form QLinearConv takes. */
function quantizeBias(
  name: string,
  t: ITensorProto,
  xScale: number,
  wScales: Float32Array,
  inits: ITensorProto[],
  nodes: INodeProto[],
): string {
  const b = floatValues(t);
  const scales = Float32Array.from(wScales, (s) => Math.fround(xScale * s));
  const q = new Int32Array(b.length);
  for (let c = 0; c < b.length; c++) q[c] = Math.round(b[c]! / scales[c]!);
  const raw = new Uint8Array(q.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < q.length; i++) view.setInt32(i * 4, q[i]!, true);
  return dequantized(
    name,
    { name: `${name}__q`, dims: [b.length], dataType: DataType.INT32, rawData: raw },
    floatTensor(`${name}__scale`, [b.length], scales),
    { name: `${name}__zp`, dims: [b.length], dataType: DataType.INT32, rawData: new Uint8Array(b.length * 4) },
    inits,
    nodes,
    0,
  );
}

/** A constant operand of Add/Mul (e.g. a residual coefficient): u8 per tensor; a positive scalar is exact. */
function quantizeConstant(name: string, t: ITensorProto, inits: ITensorProto[], nodes: INodeProto[]): string {
  const v = floatValues(t);
  const { scale, zeroPoint } = activationParams({ min: Math.min(...v), max: Math.max(...v) });
  const q = Uint8Array.from(v, (x) => Math.max(0, Math.min(255, Math.round(x / scale) + zeroPoint)));
  return dequantized(
    name,
    { name: `${name}__q`, dims: t.dims, dataType: DataType.UINT8, rawData: q },
    floatScalar(`${name}__scale`, scale),
    u8Scalar(`${name}__zp`, zeroPoint),
    inits,
    nodes,
  );
}

/** Adds a constant's quantized value, scale and zero point, and the DequantizeLinear that reads them. */
function dequantized(
  name: string,
  q: ITensorProto,
  scale: ITensorProto,
  zeroPoint: ITensorProto,
  inits: ITensorProto[],
  nodes: INodeProto[],
  axis?: number,
): string {
  inits.push(q, scale, zeroPoint);
  nodes.push(
    node(
      'DequantizeLinear',
      [q.name ?? '', scale.name ?? '', zeroPoint.name ?? ''],
      [`${name}__dq`],
      `${name}__dequantize`,
      axis,
    ),
  );
  return `${name}__dq`;
}

function node(opType: string, input: string[], output: string[], name: string, axis?: number): INodeProto {
  return {
    opType,
    input,
    output,
    name,
    attribute: axis === undefined ? [] : [{ name: 'axis', type: 2, i: axis }],
  };
}

function floatTensor(name: string, dims: number[], values: Float32Array): ITensorProto {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return { name, dims, dataType: DataType.FLOAT, rawData: raw };
}

function floatScalar(name: string, v: number): ITensorProto {
  return floatTensor(name, [], new Float32Array([v]));
}

function u8Scalar(name: string, v: number): ITensorProto {
  return { name, dims: [], dataType: DataType.UINT8, rawData: new Uint8Array([v]) };
}
