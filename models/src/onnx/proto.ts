/**
 * ONNX protobuf bindings (onnx-proto ships generated protobufjs code as CommonJS) and the numeric
 * enum values we use. The enum values are copied as plain constants because the bindings' TS enums
 * are namespaced declarations, and numbers keep our own code free of enum syntax.
 */
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type ModelProto = InstanceType<typeof onnxProto.onnx.ModelProto>;
export type IModelProto = onnxProto.onnx.IModelProto;
export type ITensorProto = onnxProto.onnx.ITensorProto;
export type IAttributeProto = onnxProto.onnx.IAttributeProto;
export type INodeProto = onnxProto.onnx.INodeProto;
export type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** TensorProto.DataType values. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10 } as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** Converts a protobufjs int64 field (number or Long) to a JS number. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export interface DecodedModel {
  model: ModelProto;
  /** The graph's repeated fields, never null (protobufjs types them as optional). */
  graph: { node: INodeProto[]; initializer: ITensorProto[]; input: IValueInfoProto[]; output: IValueInfoProto[] };
}

export function decodeModel(bytes: Uint8Array): DecodedModel {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph;
  if (!g) throw new Error('ONNX model has no graph');
  return {
    model,
    graph: { node: g.node ?? [], initializer: g.initializer ?? [], input: g.input ?? [], output: g.output ?? [] },
  };
}

/** Element type and dims (numbers, or the symbolic name for dynamic ones) of a graph input/output. */
export function describeValue(v: IValueInfoProto): { name: string; elemType: number; dims: (number | string)[] } {
  const t = v.type?.tensorType;
  const dims = (t?.shape?.dim ?? []).map((d) =>
    d.dimParam ? d.dimParam : d.dimValue === null || d.dimValue === undefined ? '?' : toNumber(d.dimValue),
  );
  return { name: v.name ?? '', elemType: t?.elemType ?? 0, dims };
}
