// The face stage's public surface (re-exported by @photoenhance/engine): detect, align, restore.
// Internals (warp, mask, NMS, BlazeFace decoding) are imported from their modules by the tests only.
export {
  type Alignment,
  cropTransform,
  type FaceTemplate,
  MAX_ALIGNMENT_RESIDUAL,
} from './alignment.ts';
export {
  type DetectedFace,
  type DetectionResult,
  type DetectOptions,
  detectFaces,
  type SkippedFace,
} from './detect.ts';
export {
  estimateAlignment,
  type FaceCanvas,
  NO_RESTORER_NOTICE,
  type RestoreFacesArgs,
  restoreFaces,
} from './restore.ts';
export {
  assertFaceModelFile,
  loadRestorer,
  type Restorer,
  type RestorerLoadOptions,
  type RestorerRuntime,
} from './restorer.ts';
