export {
  type Affine,
  type Alignment,
  applyAffine,
  FACE_SIZE,
  invertAffine,
  MAX_ALIGNMENT_RESIDUAL,
  TEMPLATE_POINTS,
} from './alignment.ts';
export {
  type DetectedFace,
  type DetectionResult,
  type DetectOptions,
  detectFaces,
  detectionTiles,
  type SkippedFace,
} from './detect.ts';
export { maskWeightAt } from './paste.ts';
export { estimateAlignment, NO_RESTORER_NOTICE, type RestoreFacesArgs, restoreFaces } from './restore.ts';
export { loadRestorer, type Restorer, type RestorerRuntime, runRestorer, validateRestorer } from './restorer.ts';
export { BORDER_FILL, cropAlignedFace } from './warp.ts';
