/**
 * fp32 → fp16 model copies for GPU execution providers.
 *
 * Choice: weights and all internal tensors become float16, but the graph's inputs and outputs stay
 * float32 with a Cast right after each input and right before each output. The engine therefore feeds
 * and reads the same Float32Array tensors for both variants; the two casts cost next to nothing
 * compared with the convolutions.
 *
 * Only ops whose float inputs all share one type parameter are accepted (the ones our converted models
 * and usual CNN exports use); anything else is refused by name rather than producing a broken graph.
 */
import { floatsToHalfBits } from './float16.ts';
import { littleEndianBytes } from './graph-builder.ts';
import { DataType, decodeModel, type INodeProto, type ITensorProto, onnx } from './proto.ts';

const UNIFORM_FLOAT_OPS = new Set([
  'Add',
  'AveragePool',
  'Concat',
  'Conv',
  'ConvTranspose',
  'DepthToSpace',
  'Div',
  'Elu',
  'Gather',
  'Gemm',
  'GlobalAveragePool',
  'Identity',
  'InstanceNormalization',
  'LeakyRelu',
  'MatMul',
  'MaxPool',
  'Mul',
  'Pad',
  'Pow',
  'PRelu',
  'Reciprocal',
  'ReduceSum',
  'Relu',
  'Reshape',
  'Resize',
  'Sigmoid',
  'Slice',
  'SpaceToDepth',
  'Split',
  'Sqrt',
  'Sub',
  'Tanh',
  'Transpose',
  'Upsample',
]);

/** Inputs that the ONNX spec types as float32 regardless of the data type (must not be converted). */
const FLOAT32_ONLY_INPUTS: Record<string, number[]> = { Resize: [1, 2], Upsample: [1] };

export function convertModelToFp16(fp32Bytes: Uint8Array): Uint8Array {
  const { model, graph } = decodeModel(fp32Bytes);

  for (const node of graph.node) {
    if (!UNIFORM_FLOAT_OPS.has(node.opType ?? '')) {
      throw new Error(`fp16 conversion: op ${node.opType} (node "${node.name}") is not supported`);
    }
  }

  const keepFloat32 = new Set<string>();
  for (const node of graph.node) {
    for (const index of FLOAT32_ONLY_INPUTS[node.opType ?? ''] ?? []) {
      const name = node.input?.[index];
      if (name) keepFloat32.add(name);
    }
  }

  graph.initializer = graph.initializer.map((t) =>
    t.dataType === DataType.FLOAT && !keepFloat32.has(t.name ?? '') ? toFp16Tensor(t) : t,
  );

  const castIn: INodeProto[] = [];
  for (const input of graph.input) {
    if (input.type?.tensorType?.elemType !== DataType.FLOAT) continue;
    const name = input.name ?? '';
    const internal = `${name}__fp16`;
    renameUses(graph.node, name, internal);
    castIn.push({
      opType: 'Cast',
      name: `${name}_to_fp16`,
      input: [name],
      output: [internal],
      attribute: [{ name: 'to', type: 2, i: DataType.FLOAT16 }],
    });
  }
  const castOut: INodeProto[] = [];
  for (const output of graph.output) {
    if (output.type?.tensorType?.elemType !== DataType.FLOAT) continue;
    const name = output.name ?? '';
    const internal = `${name}__fp16`;
    for (const node of graph.node) node.output = (node.output ?? []).map((o) => (o === name ? internal : o));
    renameUses(graph.node, name, internal);
    castOut.push({
      opType: 'Cast',
      name: `${name}_to_fp32`,
      input: [internal],
      output: [name],
      attribute: [{ name: 'to', type: 2, i: DataType.FLOAT }],
    });
  }
  const modelGraph = model.graph!;
  modelGraph.node = [...castIn, ...graph.node, ...castOut].map((n) => onnx.NodeProto.create(n));
  modelGraph.initializer = graph.initializer.map((t) => onnx.TensorProto.create(t));
  // Intermediate type annotations would still say float32; onnxruntime re-infers them.
  modelGraph.valueInfo = [];
  return onnx.ModelProto.encode(model).finish();
}

function renameUses(nodes: INodeProto[], from: string, to: string): void {
  for (const node of nodes) node.input = (node.input ?? []).map((i) => (i === from ? to : i));
}

function toFp16Tensor(t: ITensorProto): ITensorProto {
  let values: Float32Array;
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    values = Float32Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
  } else {
    values = Float32Array.from(t.floatData ?? []);
  }
  return onnx.TensorProto.create({
    name: t.name,
    dims: t.dims,
    dataType: DataType.FLOAT16,
    rawData: littleEndianBytes(floatsToHalfBits(values)),
  });
}
