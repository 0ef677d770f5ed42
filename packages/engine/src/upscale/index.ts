export { type AxisWeights, featherWeights } from './feather.ts';
export {
  type AxisPlan,
  type AxisSpan,
  DEFAULT_MAX_TILE_PIXELS,
  planAxis,
  planTiles,
  resolveTileSize,
  type Tile,
} from './tile-plan.ts';
export { blendTile, type UpscaleOptions, upscaleImage } from './upscaler.ts';
export { copyWindow, reflectIndex } from './window.ts';
