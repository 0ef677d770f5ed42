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
export const DataType = { FLOAT: 1, INT64: 7, FLOAT16: 10 } as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

/** Converts a protobufjs int64 field (number or Long) to a JS number. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}
