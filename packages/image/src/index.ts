export { type DecodedImage, decodeImage, type ImageMetadata } from './decode.ts';
export {
  type EncodableImage,
  type EncodableSamples,
  type EncodedImage,
  type EncodeOptions,
  encodeImage,
  encodeInterleaved,
  type OutputFormat,
  resolveOutputFormat,
} from './encode.ts';
export { readExifOrientation, resetExifOrientation } from './exif.ts';
export { INPUT_FORMATS, type InputFormat, sniffContainer } from './formats.ts';
export { checkOutputSize, DEFAULT_LIMITS, type ImageLimits, resolveLimits, scaledSize } from './limits.ts';
export {
  flattenPlanar,
  type IntegerSamples,
  type InterleavedImage,
  interleavedToPlanar,
  maxSampleValue,
  type PlanarImage,
  planarLuma,
  planarToInterleaved,
} from './planar.ts';
export { type ProbeResult, probeImage } from './probe.ts';
export { type ResizeKernel, resizePlanar } from './resize.ts';
