/**
 * Load-time rewrite of StyleGAN2 modulated convolutions (GFPGAN, batch 1) into convolutions with
 * constant weights. An export computes the weight on every run:
 *
 *   w = W · s (per input channel);  [demodulated: w · d, d_o = 1/√(Σ_{i,k} (W_oik s_i)² + ε)];  y = conv(x, w)
 *
 * which keeps ONNX Runtime from pre-packing the weights. The same result with a constant W:
 *
 *   y = conv(x · s, W) · d,   d_o = 1/√(Σ_i s_i² · Σ_k W_oik² + ε)   (exact algebra; Σ_k W² is a constant)
 *
 * Only the torch.onnx pattern is matched (Mul(W, Reshape(style)) → [Pow → ReduceSum → Add(ε) → Sqrt →
 * Reciprocal → Reshape → Mul] → Reshape → Conv, group 1, no bias); anything else is left as it is.
 */
import { littleEndianBytes } from './graph-builder.ts';
import { DataType, decodeModel, type INodeProto, type ITensorProto, onnx, toNumber } from './proto.ts';

export interface ModulatedConvRewrite {
  onnx: Uint8Array;
  /** Modulated convolutions rewritten (0: the model is returned unchanged). */
  rewritten: number;
  demodulated: number;
}

type Tensor = { dims: number[]; values: Float32Array };

export function rewriteModulatedConvs(bytes: Uint8Array): ModulatedConvRewrite {
  const { model, graph } = decodeModel(bytes);
  const initializers = new Map(graph.initializer.map((t) => [t.name ?? '', t]));
  const producer = new Map<string, INodeProto>();
  for (const node of graph.node) for (const out of node.output ?? []) producer.set(out, node);

  /** A float constant: an initializer or a Constant node's value. */
  const constant = (name: string): Tensor | undefined => {
    const init = initializers.get(name);
    if (init) return floatTensor(init);
    const node = producer.get(name);
    if (node?.opType !== 'Constant') return undefined;
    const value = node.attribute?.find((a) => a.name === 'value')?.t;
    return value ? floatTensor(value) : undefined;
  };
  const from = (name: string | undefined, opType: string) => {
    const node = name === undefined ? undefined : producer.get(name);
    return node?.opType === opType ? node : undefined;
  };
  /** The Mul's inputs as [the one produced by `opType`, the other], either order. */
  const split = (mul: INodeProto | undefined, test: (name: string) => boolean): [string, string] | undefined => {
    const [a, b] = mul?.input ?? [];
    if (a === undefined || b === undefined) return undefined;
    if (test(a)) return [a, b];
    if (test(b)) return [b, a];
    return undefined;
  };

  const replacements = new Map<INodeProto, INodeProto[]>();
  const added: ITensorProto[] = [];
  let demodulated = 0;
  let seq = 0;
  const fresh = (base: string) => `${base}__mc${seq++}`;
  const addInt64 = (values: number[]) => {
    const name = fresh('shape');
    added.push({
      name,
      dims: [values.length],
      dataType: DataType.INT64,
      rawData: littleEndianBytes(BigInt64Array.from(values, BigInt)),
    });
    return name;
  };
  const addFloat = (dims: number[], values: Float32Array, base: string) => {
    const name = fresh(base);
    added.push({ name, dims, dataType: DataType.FLOAT, rawData: littleEndianBytes(values) });
    return name;
  };
  const node = (opType: string, input: string[], output: string, attribute: INodeProto['attribute'] = []) =>
    ({ opType, input, output: [output], attribute, name: output }) as INodeProto;

  for (const conv of graph.node) {
    if (conv.opType !== 'Conv' || (conv.input?.length ?? 0) !== 2) continue;
    const group = conv.attribute?.find((a) => a.name === 'group');
    if (group && toNumber(group.i) !== 1) continue;
    const [x, weightName] = conv.input as [string, string];
    const reshape = from(weightName, 'Reshape');
    if (!reshape || initializers.has(weightName)) continue;
    let modulated = from(reshape.input?.[0], 'Mul');
    // Demodulated: Mul(w, Reshape(Reciprocal(Sqrt(Add(ReduceSum(Pow(w, 2)), ε))))).
    let eps: number | undefined;
    const demod = split(modulated, (n) => {
      const rec = from(from(n, 'Reshape')?.input?.[0], 'Reciprocal');
      const add = from(from(rec?.input?.[0], 'Sqrt')?.input?.[0], 'Add');
      const sumFirst = add && from(add.input?.[0], 'ReduceSum') ? 0 : 1;
      const sum = from(add?.input?.[sumFirst], 'ReduceSum');
      const pow = from(sum?.input?.[0], 'Pow');
      const exponent = pow?.input?.[1] === undefined ? undefined : constant(pow.input[1]);
      const epsValue = add?.input?.[1 - sumFirst] === undefined ? undefined : constant(add.input[1 - sumFirst]!);
      if (!pow || exponent?.values.length !== 1 || exponent.values[0] !== 2 || epsValue?.values.length !== 1)
        return false;
      // Σ over every axis but the output channel's (torch: dims 2, 3, 4 of [b, out, in, k, k]).
      const axes = sum?.input?.[1] === undefined ? undefined : initializers.get(sum.input[1]);
      if (!axes || intValues(axes).join(',') !== '2,3,4') return false;
      eps = epsValue.values[0];
      return pow.input?.[0] === (modulated!.input![0] === n ? modulated!.input![1] : modulated!.input![0]);
    });
    if (demod) modulated = from(demod[1], 'Mul');
    const isWeight = (n: string) => {
      const t = initializers.get(n);
      return t?.dataType === DataType.FLOAT && (t.dims?.length ?? 0) >= 4;
    };
    const parts = split(modulated, isWeight);
    if (!parts) continue;
    const weight = floatTensor(initializers.get(parts[0])!)!;
    const styled = parts[1];
    const [cout, cin, kh, kw] = weight.dims.slice(-4) as [number, number, number, number];
    if (weight.dims.length === 5 && weight.dims[0] !== 1) continue;
    if (weight.dims.length > 5 || cout * cin * kh * kw !== weight.values.length) continue;

    const out = conv.output![0]!;
    const style = fresh('style');
    const nodes = [node('Reshape', [styled, addInt64([1, cin])], style)];
    const styleIn = fresh('style_in');
    nodes.push(node('Reshape', [style, addInt64([1, cin, 1, 1])], styleIn));
    const scaled = fresh('x_styled');
    nodes.push(node('Mul', [x, styleIn], scaled));
    // Same bytes, 4-D dims ([1, out, in, k, k] and [out, in, k, k] share a layout): no copy of the weights.
    const constW = fresh('modulated_weight');
    added.push({ ...initializers.get(parts[0])!, name: constW, dims: [cout, cin, kh, kw] });
    const convOut = demod ? fresh('conv') : out;
    nodes.push({ ...conv, input: [scaled, constW], output: [convOut], name: `${conv.name ?? 'conv'}__const` });
    if (demod) {
      demodulated++;
      // Σ_k W_oik² as a [in, out] matrix: d = 1/√(s² · that + ε).
      const sq = new Float32Array(cin * cout);
      const taps = kh * kw;
      for (let o = 0; o < cout; o++)
        for (let i = 0; i < cin; i++) {
          let acc = 0;
          const base = (o * cin + i) * taps;
          for (let t = 0; t < taps; t++) acc += weight.values[base + t]! ** 2;
          sq[i * cout + o] = acc;
        }
      const s2 = fresh('style_sq');
      nodes.push(node('Mul', [style, style], s2));
      const energy = fresh('energy');
      nodes.push(node('MatMul', [s2, addFloat([cin, cout], sq, 'weight_sq')], energy));
      const plus = fresh('energy_eps');
      nodes.push(node('Add', [energy, addFloat([], Float32Array.of(eps!), 'eps')], plus));
      const root = fresh('energy_sqrt');
      nodes.push(node('Sqrt', [plus], root));
      const inv = fresh('demod');
      nodes.push(node('Reciprocal', [root], inv));
      const inv4 = fresh('demod4');
      nodes.push(node('Reshape', [inv, addInt64([1, cout, 1, 1])], inv4));
      nodes.push(node('Mul', [convOut, inv4], out));
    }
    replacements.set(conv, nodes);
  }

  if (replacements.size === 0) return { onnx: bytes, rewritten: 0, demodulated: 0 };
  const nodes = graph.node.flatMap((n) => replacements.get(n) ?? [n]);
  // The per-run weight computations now feed nothing: drop them (and the initializers only they used).
  const live = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const kept: INodeProto[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!(n.output ?? []).some((o) => live.has(o))) continue;
    kept.push(n);
    for (const input of n.input ?? []) live.add(input);
  }
  kept.reverse();
  const modelGraph = model.graph!;
  modelGraph.node = kept.map((n) => onnx.NodeProto.create(n));
  modelGraph.initializer = [...graph.initializer, ...added]
    .filter((t) => live.has(t.name ?? ''))
    .map((t) => onnx.TensorProto.create(t));
  modelGraph.valueInfo = [];
  return { onnx: onnx.ModelProto.encode(model).finish(), rewritten: replacements.size, demodulated };
}

function floatTensor(t: ITensorProto): Tensor | undefined {
  if (t.dataType !== DataType.FLOAT) return undefined;
  const dims = (t.dims ?? []).map((d) => toNumber(d));
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    const values = new Float32Array(t.rawData.byteLength / 4);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
    return { dims, values };
  }
  return { dims, values: Float32Array.from(t.floatData ?? []) };
}

function intValues(t: ITensorProto): number[] {
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    return Array.from({ length: t.rawData.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
  }
  return (t.int64Data ?? []).map((v) => toNumber(v));
}
