export { type AttrValue, type ElemType, type FloatAttr, floatAttr, OnnxGraphBuilder } from './onnx/graph-builder.ts';
