import { PhotoEnhanceError, throwIfAborted } from '@photoenhance/contracts';
import type { PlanarImage } from '@photoenhance/image';
import * as ort from 'onnxruntime-node';
import type { ModelSession } from '../runtime/model-session.ts';
import { featherWeights } from './feather.ts';
import { DEFAULT_MAX_TILE_PIXELS, planTiles, resolveTileSize, type Tile } from './tile-plan.ts';
import { copyWindow } from './window.ts';

export interface UpscaleOptions {
  /** Tile core side in input pixels; 0 = whole image when it has at most maxTilePixels pixels, else tiles of that area. */
  tileSize: number;
  /** Context pixels around each tile (reflect padded at the image border). Default 10, as upstream. */
  tilePad?: number;
  /** Tiles per ORT run, used only when the model's batch dimension is dynamic. Default 1. */
  batchTiles?: number;
  /** Memory cap for tileSize 0, in input pixels (default 512², sized for CPU; a GPU can take more). */
  maxTilePixels?: number;
  signal?: AbortSignal;
  /** Called after every model run with tiles done so far; ends with done === total. */
  onProgress?: (done: number, total: number) => void;
}

const CHANNELS = 3;

/** The tiles an upscale of a `width`×`height` image runs, in the order it runs them (row after row). */
export function planUpscale(
  width: number,
  height: number,
  opts: Pick<UpscaleOptions, 'tileSize' | 'tilePad' | 'maxTilePixels'>,
): Tile[] {
  const tilePad = opts.tilePad ?? 10;
  const tileSize = resolveTileSize(
    width,
    height,
    opts.tileSize,
    opts.maxTilePixels ?? DEFAULT_MAX_TILE_PIXELS,
    tilePad,
  );
  return planTiles(width, height, tileSize, tilePad);
}

/**
 * Receives each tile's model output as soon as it is made: `tileOut` holds the whole window ×scale
 * (planar, unclamped) from `offset`; only valid until the callback's promise settles.
 */
export type TileSink = (tileOut: Float32Array, offset: number, tile: Tile) => void | Promise<void>;

/**
 * Runs an image-to-image super-resolution model (NCHW float, ×scale) over `image` tile by tile, in
 * row-major order, and hands every tile's output to `sink`. Nothing of the ×scale image is kept here:
 * only one batch of windows and its output exist at a time.
 */
export async function upscaleTiles(
  session: ModelSession,
  image: PlanarImage,
  scale: number,
  opts: UpscaleOptions,
  sink: TileSink,
): Promise<void> {
  const { width, height } = image;
  if (image.channels !== CHANNELS || image.data.length !== width * height * CHANNELS || width < 1 || height < 1) {
    throw new PhotoEnhanceError(
      'INVALID_INPUT',
      `Upscaler needs a non-empty 3-plane image, got ${width}×${height}×${image.channels}`,
    );
  }
  if (!Number.isInteger(scale) || scale < 1)
    throw new PhotoEnhanceError('INVALID_OPTIONS', `Model scale must be a positive integer, got ${scale}`);
  const { signal, onProgress } = opts;
  throwIfAborted(signal);

  const tiles = planUpscale(width, height, opts);
  const first = tiles[0] as Tile;
  const windowWidth = first.windowWidth;
  const windowHeight = first.windowHeight;
  const batch = Math.max(
    1,
    Math.min(opts.batchTiles ?? 1, tiles.length, fixedBatch(session) ?? Number.POSITIVE_INFINITY),
  );

  const windowSize = CHANNELS * windowWidth * windowHeight;
  const input = new Float32Array(windowSize * batch);
  const inputName = session.inputNames[0] as string;
  const outputName = session.outputNames[0] as string;

  let done = 0;
  for (let from = 0; from < tiles.length; from += batch) {
    throwIfAborted(signal);
    const group = tiles.slice(from, from + batch);
    const feed = group.length === batch ? input : input.subarray(0, windowSize * group.length);
    group.forEach((tile, b) => {
      copyWindow(image, tile.windowX, tile.windowY, windowWidth, windowHeight, feed, b * windowSize);
    });
    const result = await session.run({
      [inputName]: new ort.Tensor('float32', feed, [group.length, CHANNELS, windowHeight, windowWidth]),
    });
    const tensor = result[outputName];
    const expected = [group.length, CHANNELS, windowHeight * scale, windowWidth * scale];
    if (!tensor || tensor.type !== 'float32' || tensor.dims.join() !== expected.join()) {
      throw new PhotoEnhanceError(
        'MODEL_INVALID',
        `Model ${session.id}: expected float32 output [${expected.join(',')}], got ${tensor?.type} [${tensor?.dims.join(',')}]`,
        { details: { model: session.id } },
      );
    }
    const data = tensor.data as Float32Array;
    for (let b = 0; b < group.length; b++) {
      throwIfAborted(signal);
      await sink(data, b * windowSize * scale * scale, group[b] as Tile);
    }
    tensor.dispose();
    done += group.length;
    onProgress?.(done, tiles.length);
  }
}

/**
 * Runs an image-to-image super-resolution model (NCHW float, ×scale) over `image` tile by tile and
 * cross-fades the tiles into one output clamped to [0, 1], held whole as float: for tests and
 * benchmarks of the model itself. The engine assembles tiles straight at the requested scale instead
 * (output-assembler.ts), which never holds the ×scale image.
 */
export async function upscaleImage(
  session: ModelSession,
  image: PlanarImage,
  scale: number,
  opts: UpscaleOptions,
): Promise<PlanarImage> {
  const outWidth = image.width * scale;
  const outHeight = image.height * scale;
  let out: Float32Array | undefined;
  await upscaleTiles(session, image, scale, opts, (data, offset, tile) => {
    out ??= new Float32Array(outWidth * outHeight * CHANNELS);
    blendTile(out, outWidth, outHeight, data, offset, tile, scale);
  });
  return { width: outWidth, height: outHeight, channels: CHANNELS, data: out ?? new Float32Array(0) };
}

/** The batch size a model insists on (a numeric first input dim), or undefined when it is dynamic. */
function fixedBatch(session: ModelSession): number | undefined {
  const meta = session.inputMetadata[0];
  const dim = meta?.isTensor ? meta.shape[0] : undefined;
  return typeof dim === 'number' && dim > 0 ? dim : undefined;
}

/**
 * Adds one tile's output, clamped to [0, 1] and weighted by its feather ramps, to `out`. Weights of
 * overlapping tiles sum to 1, so accumulating is all the blending needs.
 */
export function blendTile(
  out: Float32Array,
  outWidth: number,
  outHeight: number,
  tileOut: Float32Array,
  tileOffset: number,
  tile: Tile,
  scale: number,
): void {
  const columns = featherWeights(tile.x, tile.width, tile.featherLeft, tile.featherRight, scale);
  const rows = featherWeights(tile.y, tile.height, tile.featherTop, tile.featherBottom, scale);
  const tileOutWidth = tile.windowWidth * scale;
  const tileOutHeight = tile.windowHeight * scale;
  // Offsets of the weighted footprint inside the tile's output (the window starts pad pixels before the core).
  const dx = columns.start - tile.windowX * scale;
  const dy = rows.start - tile.windowY * scale;
  const cw = columns.weights;
  const span = cw.length;
  // Most of a tile has weight exactly 1 and no other contributor: those runs are a clamped copy.
  let flatFrom = 0;
  while (flatFrom < span && cw[flatFrom] !== 1) flatFrom++;
  let flatTo = span;
  while (flatTo > flatFrom && cw[flatTo - 1] !== 1) flatTo--;
  for (let c = 0; c < CHANNELS; c++) {
    const outPlane = c * outWidth * outHeight;
    const tilePlane = tileOffset + c * tileOutWidth * tileOutHeight;
    for (let i = 0; i < rows.weights.length; i++) {
      const wy = rows.weights[i] as number;
      if (wy === 0) continue;
      const outRow = outPlane + (rows.start + i) * outWidth + columns.start;
      const tileRow = tilePlane + (dy + i) * tileOutWidth + dx;
      if (wy === 1) {
        accumulate(out, outRow, tileOut, tileRow, cw, 1, 0, flatFrom);
        for (let j = flatFrom; j < flatTo; j++) {
          const v = tileOut[tileRow + j] as number;
          out[outRow + j] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        accumulate(out, outRow, tileOut, tileRow, cw, 1, flatTo, span);
      } else {
        accumulate(out, outRow, tileOut, tileRow, cw, wy, 0, span);
      }
    }
  }
}

/** out[outRow + j] += wy · cw[j] · clamp(tileOut[tileRow + j]) for j in [from, to). */
function accumulate(
  out: Float32Array,
  outRow: number,
  tileOut: Float32Array,
  tileRow: number,
  cw: Float32Array,
  wy: number,
  from: number,
  to: number,
): void {
  for (let j = from; j < to; j++) {
    const w = wy * (cw[j] as number);
    if (w === 0) continue;
    const v = tileOut[tileRow + j] as number;
    out[outRow + j] = (out[outRow + j] as number) + w * (v < 0 ? 0 : v > 1 ? 1 : v);
  }
}
