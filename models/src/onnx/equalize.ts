/**
 * Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and
 * Bias Correction") of an fp32 ONNX graph, before int8 quantization.
 *
 * For a convolution A whose output reaches the next convolutions B only through per-channel
 * positively homogeneous ops (f(s·x) = s·f(x) for s > 0: Relu, LeakyRelu, bias-free 1×1 depthwise
 * convolutions — the depthwise PReLU form — and Adds of such branches), directly or at a channel
 * offset of a Concat (RRDB dense blocks), scaling A's output channel i
 * (weights and bias) by 1/sᵢ and every B's input channel i by sᵢ computes the same function. With
 * sᵢ = √(r₁ᵢ·r₂ᵢ)/r₂ᵢ (r₁ᵢ = max |A[i,…]|, r₂ᵢ = max over B of max |B[:,i,…]|) both ranges become
 * √(r₁ᵢ·r₂ᵢ); iterated over the chain of pairs until it settles.
 *
 * Why here: per-output-channel s8 weights of these nets lose 15 dB of SNR to input-channel imbalance
 * (a few input columns of every 3×3 weight hold the row maximum), which no per-channel scale can fix
 * but this rescaling can. Exact in real arithmetic; fp32 rounding only.
 */
import { DataType, decodeModel, type INodeProto, type ITensorProto, onnx, toNumber } from './proto.ts';

export interface EqualizedPair {
  /** Conv whose output channels are scaled by 1/s. */
  producer: string;
  /** Convs whose input channels are scaled by s. */
  consumers: string[];
}

export interface EqualizeResult {
  bytes: Uint8Array;
  pairs: EqualizedPair[];
}

interface ConvInfo {
  node: INodeProto;
  weight: Float32Array;
  dims: number[];
  bias?: Float32Array;
}

/** Ops through which a per-channel positive scale passes unchanged (besides depthwise 1×1 convs). */
const HOMOGENEOUS = new Set(['Relu', 'LeakyRelu', 'PRelu', 'Add']);

export function equalizeCrossLayer(fp32Bytes: Uint8Array, iterations = 20): EqualizeResult {
  const { model, inits, readers, outputs, convs, channels } = analyse(fp32Bytes);

  const pairs: Array<{ a: ConvInfo; bs: Consumer[] }> = [];
  for (const a of convs.values()) {
    if (group(a.node) !== 1) continue;
    const region = homogeneousRegion(a, convs, readers, outputs, channels);
    if (region && region.consumers.length > 0) pairs.push({ a, bs: region.consumers });
  }

  for (let it = 0; it < iterations; it++) {
    for (const { a, bs } of pairs) {
      const channels = a.dims[0]!;
      const perA = a.weight.length / channels;
      for (let c = 0; c < channels; c++) {
        let r1 = 0;
        for (let k = c * perA; k < (c + 1) * perA; k++) r1 = Math.max(r1, Math.abs(a.weight[k]!));
        let r2 = 0;
        for (const { conv: b, offset } of bs)
          forInputChannel(b, offset + c, (k) => (r2 = Math.max(r2, Math.abs(b.weight[k]!))));
        if (r1 === 0 || r2 === 0) continue;
        const s = Math.sqrt(r1 * r2) / r2;
        for (let k = c * perA; k < (c + 1) * perA; k++) a.weight[k] = a.weight[k]! / s;
        if (a.bias) a.bias[c] = a.bias[c]! / s;
        for (const { conv: b, offset } of bs) forInputChannel(b, offset + c, (k) => (b.weight[k] = b.weight[k]! * s));
      }
    }
  }

  for (const info of convs.values()) {
    replaceFloats(inits.get(info.node.input![1]!)!, info.weight);
    if (info.bias) replaceFloats(inits.get(info.node.input![2]!)!, info.bias);
  }
  model.graph!.initializer = [...inits.values()].map((t) => onnx.TensorProto.create(t));
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    pairs: pairs.map(({ a, bs }) => ({
      producer: a.node.name ?? '',
      consumers: bs.map((b) => b.conv.node.name ?? ''),
    })),
  };
}

function analyse(bytes: Uint8Array) {
  const { model, graph } = decodeModel(bytes);
  const inits = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  const readers = new Map<string, INodeProto[]>();
  for (const n of graph.node) for (const i of n.input ?? []) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
  const outputs = new Set(graph.output.map((o) => o.name ?? ''));
  const convs = new Map<string, ConvInfo>();
  for (const n of graph.node) {
    if (n.opType !== 'Conv') continue;
    const w = inits.get(n.input?.[1] ?? '');
    if (!w) continue;
    const b = n.input?.[2] ? inits.get(n.input[2]) : undefined;
    convs.set(n.name ?? '', { node: n, weight: floats(w), dims: dimsOf(w), ...(b ? { bias: floats(b) } : {}) });
  }
  // channel counts where the graph says them (conv weights, concats, elementwise ops of one input)
  const producers = new Map(graph.node.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const known = new Map<string, number | undefined>();
  const channels = (t: string): number | undefined => {
    if (known.has(t)) return known.get(t);
    known.set(t, undefined);
    const n = producers.get(t);
    let c: number | undefined;
    if (n?.opType === 'Conv') c = convs.get(n.name ?? '')?.dims[0];
    else if (n?.opType === 'Concat') {
      const parts = (n.input ?? []).map(channels);
      c = parts.every((p) => p !== undefined) ? parts.reduce((a, b) => a! + b!, 0) : undefined;
    } else if (n && ['Relu', 'LeakyRelu', 'PRelu', 'Add', 'Mul'].includes(n.opType ?? '')) c = channels(n.input![0]!);
    known.set(t, c);
    return c;
  };
  return { model, graph, inits, readers, outputs, convs, channels };
}

/** A conv reading a scaled tensor, whose input channels from `offset` on match the tensor's. */
interface Consumer {
  conv: ConvInfo;
  offset: number;
}

/**
 * The layers of a graph for mixed precision: each group-1 convolution with the activation nodes
 * after it (its homogeneous region: the depthwise PReLU form, a LeakyRelu, …), by conv name, in
 * graph order. A conv whose output goes anywhere else is a layer of its own.
 */
export function convLayers(fp32Bytes: Uint8Array): Map<string, string[]> {
  const { graph, readers, outputs, convs, channels } = analyse(fp32Bytes);
  const layers = new Map<string, string[]>();
  for (const n of graph.node) {
    const a = convs.get(n.name ?? '');
    if (!a || group(n) !== 1) continue;
    const region = homogeneousRegion(a, convs, readers, outputs, channels);
    layers.set(n.name ?? '', [n.name ?? '', ...(region?.nodes ?? []).map((r) => r.name ?? '')]);
  }
  return layers;
}

/**
 * The group-1 convolutions that read A's output (input 0) through homogeneous ops only, and those
 * ops; undefined when anything else reads it (a graph output, a reshuffle, a residual with another
 * tensor, …).
 */
function homogeneousRegion(
  a: ConvInfo,
  convs: Map<string, ConvInfo>,
  readers: Map<string, INodeProto[]>,
  outputs: Set<string>,
  channels: (tensor: string) => number | undefined,
): { consumers: Consumer[]; nodes: INodeProto[] } | undefined {
  const region = new Set<string>([a.node.output![0]!]);
  const consumers = new Map<string, Consumer>();
  const pending = [a.node.output![0]!];
  const regionNodes = new Set<INodeProto>();
  while (pending.length > 0) {
    const t = pending.pop()!;
    if (outputs.has(t)) return undefined;
    for (const r of readers.get(t) ?? []) {
      const info = r.opType === 'Conv' ? convs.get(r.name ?? '') : undefined;
      if (info && group(r) === 1 && r.input![0] === t) {
        consumers.set(r.name ?? '', { conv: info, offset: 0 });
        continue;
      }
      if (r.opType === 'Concat' && !outputs.has(r.output![0]!)) {
        // the tensor lands at a channel offset of the concat, which only group-1 convs may read
        const axis = r.attribute?.find((x) => x.name === 'axis');
        const at = r.input!.indexOf(t);
        if (toNumber(axis?.i) !== 1 || r.input!.lastIndexOf(t) !== at) return undefined;
        const before = r.input!.slice(0, at).map(channels);
        if (before.some((c) => c === undefined)) return undefined;
        const offset = before.reduce((x, y) => x! + y!, 0)!;
        for (const b of readers.get(r.output![0]!) ?? []) {
          const binfo = b.opType === 'Conv' ? convs.get(b.name ?? '') : undefined;
          if (!binfo || group(b) !== 1 || b.input![0] !== r.output![0]) return undefined;
          consumers.set(`${b.name}@${offset}`, { conv: binfo, offset });
        }
        continue;
      }
      const depthwise =
        info && !info.bias && group(r) === info.dims[0] && info.dims[1] === 1 && info.weight.length === info.dims[0];
      if (!depthwise && !HOMOGENEOUS.has(r.opType ?? '')) return undefined;
      regionNodes.add(r);
      for (const o of r.output ?? []) {
        if (!region.has(o)) {
          region.add(o);
          pending.push(o);
        }
      }
    }
  }
  // every tensor input of a region node must come from the region (an Add of two branches of A only)
  for (const n of regionNodes) {
    const tensorInputs = (n.input ?? []).slice(0, n.opType === 'PRelu' ? 1 : undefined);
    if (n.opType === 'Conv') continue; // depthwise: input 0 was reached from the region, weights are constants
    if (!tensorInputs.every((i) => region.has(i))) return undefined;
  }
  return { consumers: [...consumers.values()], nodes: [...regionNodes] };
}

function forInputChannel(b: ConvInfo, c: number, f: (k: number) => void): void {
  const [out, inC, kh = 1, kw = 1] = b.dims;
  const k2 = kh * kw;
  for (let o = 0; o < out!; o++) {
    const base = (o * inC! + c) * k2;
    for (let k = 0; k < k2; k++) f(base + k);
  }
}

function group(n: INodeProto): number {
  const g = n.attribute?.find((a) => a.name === 'group');
  return g ? toNumber(g.i) : 1;
}

function dimsOf(t: ITensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d));
}

function floats(t: ITensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new Error(`equalize: initializer "${t.name}" is not float32`);
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    return Float32Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
  }
  return Float32Array.from(t.floatData ?? []);
}

function replaceFloats(t: ITensorProto, values: Float32Array): void {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  t.rawData = raw;
  t.floatData = [];
}
