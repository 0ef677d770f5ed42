// ONNX writing

// catalogue, preparation, lookup
export { isModelError, ModelError, type ModelErrorCode } from './errors.ts';
export { type Fidelity, fidelity } from './fidelity.ts';
export { CALIBRATION_DIR, DEFAULT_INT8_RECIPE, type Int8Recipe, imageToPlanar, quantizeUpscaler } from './int8.ts';
export {
  FACE_TEMPLATES,
  type FaceTemplateName,
  INT8_FIDELITY_FLOOR,
  type Int8Variant,
  loadManifest,
  MODEL_TASKS,
  MODEL_VARIANTS,
  type ModelEntry,
  ModelEntrySchema,
  type ModelManifest,
  ModelManifestSchema,
  type ModelTask,
  type ModelVariant,
  restorerFace,
  type TensorSpec,
} from './manifest.ts';
// ncnn → ONNX
export { NcnnFormatError, type NcnnGraph, type NcnnLayer, parseNcnnParam } from './ncnn/param.ts';
export {
  convertNcnnToOnnx,
  INPUT_NAME,
  type NcnnConversion,
  type NcnnConvertOptions,
  OUTPUT_NAME,
  type PreluForm,
} from './ncnn/to-onnx.ts';
export { type ConstantWeightCopy, constantWeightCopy } from './onnx/constant-weight-copy.ts';
export { floatToHalfBits, halfBitsToFloat } from './onnx/float16.ts';
export { type AttrValue, type ElemType, type FloatAttr, floatAttr, OnnxGraphBuilder } from './onnx/graph-builder.ts';
export { type ModulatedConvRewrite, rewriteModulatedConvs } from './onnx/modulated-conv.ts';
export { convertModelToFp16 } from './onnx/to-fp16.ts';
export {
  downloadModel,
  ensureModel,
  getModelEntry,
  listModelEntries,
  type ModelStatus,
  modelDir,
  modelStatus,
  prepareGeneratedModel,
  prepareNpmModels,
  variantAvailability,
  variantPath,
} from './prepare.ts';
export { mulberry32 } from './random.ts';
export { registerCustomModel } from './registry.ts';
export { buildGfpganStandin, type GfpganStandin, type GfpganStandinOptions } from './standin/gfpgan.ts';
