export { type AxisBlock, type AxisMap, axisBlock, axisMap, decodeBlockValue, resizeBlockPlane } from './band-resize.ts';
export { type AxisWeights, featherWeights } from './feather.ts';
export {
  createOutputAssembler,
  integerFaceCanvas,
  type OutputAssembler,
  type OutputAssemblerArgs,
  writePlanarRgb,
  writeResizedAlpha,
} from './output-assembler.ts';
export {
  type AxisPlan,
  type AxisSpan,
  DEFAULT_MAX_TILE_PIXELS,
  planAxis,
  planTiles,
  resolveTileSize,
  type Tile,
} from './tile-plan.ts';
export { blendTile, planUpscale, type TileSink, type UpscaleOptions, upscaleImage, upscaleTiles } from './upscaler.ts';
export { copyWindow, reflectIndex } from './window.ts';
