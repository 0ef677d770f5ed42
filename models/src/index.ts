export { type AttrValue, type ElemType, type FloatAttr, floatAttr, OnnxGraphBuilder } from './onnx/graph-builder.ts';
export { floatToHalfBits, halfBitsToFloat } from './onnx/float16.ts';
export { convertModelToFp16 } from './onnx/to-fp16.ts';
export { type NcnnGraph, type NcnnLayer, NcnnFormatError, parseNcnnParam } from './ncnn/param.ts';
export { convertNcnnToOnnx, INPUT_NAME, type NcnnConversion, OUTPUT_NAME } from './ncnn/to-onnx.ts';
