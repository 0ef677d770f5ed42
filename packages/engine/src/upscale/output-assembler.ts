import type { InterleavedImage, PlanarImage } from '@photoenhance/image';
import sharp from 'sharp';
import { templateFootprint } from '../face/alignment.ts';
import { pasteFace } from '../face/paste.ts';
import type { FaceCanvas } from '../face/restore.ts';
import { type AxisBlock, type AxisMap, axisBlock, axisMap, decodeBlockValue, resizeBlockPlane } from './band-resize.ts';
import { featherWeights } from './feather.ts';
import type { Tile } from './tile-plan.ts';

const CHANNELS = 3;

export interface OutputAssemblerArgs {
  /** Size of the image the model ran on (input pixels). */
  sourceWidth: number;
  sourceHeight: number;
  /** The model's factor (4): tiles arrive at sourceWidth·modelScale. */
  modelScale: number;
  /** The plan the tiles come from, in the order they come (row after row). */
  tiles: readonly Tile[];
  /** Where the finished RGB goes (channels 0–2; a 4th channel is left alone), at the requested size. */
  out: InterleavedImage;
}

export interface OutputAssembler {
  /** One tile's ×modelScale window (planar, unclamped) from `offset` of `tileOut`. */
  add(tileOut: Float32Array, offset: number, tile: Tile): Promise<void>;
  /** Writes the last rows; call once after the last tile. */
  finish(): void;
}

/** Output rows and source rows of a band of tiles (one tile row), or columns of one tile column. */
interface Footprint {
  /** Feather weights along the axis, in ×modelScale pixels from `start`. */
  start: number;
  weights: Float32Array;
  block: AxisBlock;
}

function footprint(map: AxisMap, coreStart: number, coreSize: number, before: number, after: number, scale: number) {
  const { start, weights } = featherWeights(coreStart, coreSize, before, after, scale);
  return { start, weights, block: axisBlock(map, start, start + weights.length) } satisfies Footprint;
}

/**
 * Turns a stream of ×4 tiles into the output at the requested scale without ever holding the ×4 image.
 *
 * The whole-image result would be resize(Σ wₜ·tileₜ) (feathered tiles, then one Lanczos resize). Resizing
 * is linear, so it equals Σ resize(wₜ·tileₜ): each weighted tile is resized on its own, in a block aligned
 * to the axis period so that libvips maps it exactly as it maps the whole image (band-resize.ts), and
 * added into a float accumulator that spans the output rows one tile row can touch. When the next tile
 * row starts, rows no later tile reaches are final: they are clamped and rounded into `out` (8 or 16
 * bits) and the accumulator slides down. Memory: the output itself, one band of float rows, a few tiles.
 */
export function createOutputAssembler(args: OutputAssemblerArgs): OutputAssembler {
  const { sourceWidth, sourceHeight, modelScale, tiles, out } = args;
  const outWidth = out.width;
  const outHeight = out.height;
  const columns = axisMap(sourceWidth * modelScale, outWidth);
  const rows = axisMap(sourceHeight * modelScale, outHeight);
  const identity = columns.periodIn === 1 && columns.periodOut === 1 && rows.periodIn === 1 && rows.periodOut === 1;

  const rowPrints = new Map<number, Footprint>();
  const columnPrints = new Map<number, Footprint>();
  for (const t of tiles) {
    if (!rowPrints.has(t.row))
      rowPrints.set(t.row, footprint(rows, t.y, t.height, t.featherTop, t.featherBottom, modelScale));
    if (!columnPrints.has(t.column))
      columnPrints.set(t.column, footprint(columns, t.x, t.width, t.featherLeft, t.featherRight, modelScale));
  }
  const span = (b: AxisBlock) => ({ in: b.inEnd - b.inStart, out: b.outEnd - b.outStart });
  const bandRows = Math.max(...[...rowPrints.values()].map((p) => span(p.block).out));
  const blockPixels =
    Math.max(...[...rowPrints.values()].map((p) => span(p.block).in)) *
    Math.max(...[...columnPrints.values()].map((p) => span(p.block).in));

  const accumulator = new Float32Array(CHANNELS * outWidth * bandRows);
  const bandPlane = outWidth * bandRows;
  // One block per plane, resized side by side: two more block-sized buffers (≈ 36 MB at the 512² tile) than
  // planes in turn, for a pipeline 0.90× instead of 1.15× the whole-image resize's time (3 MP at ×2,
  // bench/memory/pipeline-time.ts, same run).
  const blocks = Array.from({ length: CHANNELS }, () =>
    identity ? new Float32Array(0) : new Float32Array(blockPixels),
  );
  /** Output row of the accumulator's first row, and one past the last row any tile has touched. */
  let bandStart = 0;
  let bandEnd = 0;
  let currentRow = -1;

  const maxValue = out.bitDepth === 16 ? 65535 : 255;
  const stride = out.channels;

  /** Rows [bandStart, to) are final: round them into `out`, then slide the rest of the band up. */
  function flush(to: number): void {
    const count = to - bandStart;
    if (count <= 0) return;
    const data = out.data;
    for (let c = 0; c < CHANNELS; c++) {
      const plane = c * bandPlane;
      for (let r = 0; r < count; r++) {
        const from = plane + r * outWidth;
        let o = (bandStart + r) * outWidth * stride + c;
        for (let x = 0; x < outWidth; x++, o += stride) {
          const v = accumulator[from + x] as number;
          // NaN fails both comparisons and lands on 0.
          data[o] = v >= 1 ? maxValue : v > 0 ? Math.round(v * maxValue) : 0;
        }
      }
      const keep = (bandEnd - to) * outWidth;
      accumulator.copyWithin(plane, plane + count * outWidth, plane + count * outWidth + keep);
      accumulator.fill(0, plane + keep, plane + bandPlane);
    }
    bandStart = to;
  }

  async function add(tileOut: Float32Array, offset: number, tile: Tile): Promise<void> {
    const rowPrint = rowPrints.get(tile.row) as Footprint;
    const columnPrint = columnPrints.get(tile.column) as Footprint;
    if (tile.row !== currentRow) {
      // Nothing of this tile row or a later one reaches above its block.
      flush(rowPrint.block.outStart);
      currentRow = tile.row;
    }
    bandEnd = Math.max(bandEnd, rowPrint.block.outEnd);

    const tileOutWidth = tile.windowWidth * modelScale;
    const tileOutHeight = tile.windowHeight * modelScale;
    const cw = columnPrint.weights;
    const rw = rowPrint.weights;
    const rb = rowPrint.block;
    const cb = columnPrint.block;
    // Where the weighted footprint starts inside the tile's window output, and inside its block.
    const dx = columnPrint.start - tile.windowX * modelScale;
    const dy = rowPrint.start - tile.windowY * modelScale;
    const blockWidth = cb.inEnd - cb.inStart;
    const blockHeight = rb.inEnd - rb.inStart;
    const bx = columnPrint.start - cb.inStart;
    const by = rowPrint.start - rb.inStart;
    const outBlockWidth = cb.outEnd - cb.outStart;
    const outBlockHeight = rb.outEnd - rb.outStart;

    const plane = async (c: number) => {
      const block = blocks[c] as Float32Array;
      const tilePlane = offset + c * tileOutWidth * tileOutHeight + dy * tileOutWidth + dx;
      if (identity) {
        // At ×4 the weighted tile goes straight into the band.
        const base = c * bandPlane + (rowPrint.start - bandStart) * outWidth + columnPrint.start;
        weightTile(tileOut, tilePlane, tileOutWidth, rw, cw, accumulator, base, outWidth, true);
        return;
      }
      block.fill(0, 0, blockWidth * blockHeight);
      weightTile(tileOut, tilePlane, tileOutWidth, rw, cw, block, by * blockWidth + bx, blockWidth, false);
      const resized = await resizeBlockPlane(block, blockWidth, blockHeight, outBlockWidth, outBlockHeight);
      const base = c * bandPlane + (rb.outStart - bandStart) * outWidth + cb.outStart;
      addBlock(resized, outBlockWidth, outBlockHeight, accumulator, base, outWidth);
    };
    await Promise.all([0, 1, 2].map(plane));
  }

  return {
    add,
    finish() {
      bandEnd = Math.max(bandEnd, outHeight);
      flush(outHeight);
    },
  };
}

/**
 * target[dst + i·targetWidth + j] (+)= rw[i]·cw[j]·clamp(tileOut[src + i·tileWidth + j]): one plane of a
 * tile, clamped to [0, 1] and feathered. Most of a tile has weight exactly 1: those runs are a clamped copy
 * (or add). A top-level function with plain number arguments, so V8 compiles one tight loop for it.
 */
function weightTile(
  tileOut: Float32Array,
  src: number,
  tileWidth: number,
  rw: Float32Array,
  cw: Float32Array,
  target: Float32Array,
  dst: number,
  targetWidth: number,
  accumulate: boolean,
): void {
  const span = cw.length;
  let flatFrom = 0;
  while (flatFrom < span && cw[flatFrom] !== 1) flatFrom++;
  let flatTo = span;
  while (flatTo > flatFrom && cw[flatTo - 1] !== 1) flatTo--;
  for (let i = 0; i < rw.length; i++) {
    const wy = rw[i] as number;
    if (wy === 0) continue;
    const from = src + i * tileWidth;
    const to = dst + i * targetWidth;
    if (wy === 1 && !accumulate) {
      for (let j = 0; j < flatFrom; j++) {
        const v = tileOut[from + j] as number;
        target[to + j] = (cw[j] as number) * (v < 0 ? 0 : v > 1 ? 1 : v);
      }
      for (let j = flatFrom; j < flatTo; j++) {
        const v = tileOut[from + j] as number;
        target[to + j] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
      for (let j = flatTo; j < span; j++) {
        const v = tileOut[from + j] as number;
        target[to + j] = (cw[j] as number) * (v < 0 ? 0 : v > 1 ? 1 : v);
      }
    } else if (accumulate) {
      for (let j = 0; j < span; j++) {
        const v = tileOut[from + j] as number;
        target[to + j] = (target[to + j] as number) + wy * (cw[j] as number) * (v < 0 ? 0 : v > 1 ? 1 : v);
      }
    } else {
      for (let j = 0; j < span; j++) {
        const v = tileOut[from + j] as number;
        target[to + j] = wy * (cw[j] as number) * (v < 0 ? 0 : v > 1 ? 1 : v);
      }
    }
  }
}

/** Adds a resized block (16-bit codes of resizeBlockPlane) into the band at `base`. */
function addBlock(
  codes: Uint16Array,
  width: number,
  height: number,
  band: Float32Array,
  base: number,
  bandWidth: number,
): void {
  for (let r = 0; r < height; r++) {
    const to = base + r * bandWidth;
    const from = r * width;
    for (let x = 0; x < width; x++)
      band[to + x] = (band[to + x] as number) + decodeBlockValue(codes[from + x] as number);
  }
}

/** Rounds planar float RGB (a plain resize, no upscaler) into channels 0–2 of `out`. */
export function writePlanarRgb(rgb: PlanarImage, out: InterleavedImage): void {
  const pixels = out.width * out.height;
  const maxValue = out.bitDepth === 16 ? 65535 : 255;
  for (let c = 0; c < CHANNELS; c++) {
    const base = c * pixels;
    for (let i = 0, o = c; i < pixels; i++, o += out.channels) {
      const v = rgb.data[base + i] as number;
      out.data[o] = v >= 1 ? maxValue : v > 0 ? Math.round(v * maxValue) : 0;
    }
  }
}

/**
 * Lanczos-3 resize of an alpha plane straight into channel 3 of `out`, through a 16-bit plane (2 bytes
 * an output pixel for the moment it exists, not the 4 of a float plane).
 */
export async function writeResizedAlpha(alpha: PlanarImage, out: InterleavedImage): Promise<void> {
  const { data } = await sharp(alpha.data, {
    raw: { width: alpha.width, height: alpha.height, channels: 1 },
    limitInputPixels: false,
  })
    .resize(out.width, out.height, { kernel: 'lanczos3', fit: 'fill' })
    .linear(65535, 0.5)
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const plane = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  const eight = out.bitDepth === 8;
  for (let i = 0, o = 3; i < plane.length; i++, o += out.channels) {
    const v = plane[i] as number;
    out.data[o] = eight ? Math.round(v / 257) : v;
  }
}

/**
 * Restored faces pasted into the integer output: the face's footprint is read out as float, blended by
 * pasteFace (the same mask and sampling as a float canvas) and rounded back. Pixels the mask does not
 * touch keep their exact value (k/255 → float → ×255 rounds back to k).
 */
export function integerFaceCanvas(out: InterleavedImage): FaceCanvas {
  const maxValue = out.bitDepth === 16 ? 65535 : 255;
  return {
    width: out.width,
    height: out.height,
    async paste(face, size, canvasToTemplate, blend) {
      const { x0, y0, x1, y1 } = templateFootprint(canvasToTemplate, size, out.width, out.height);
      const width = x1 - x0;
      const height = y1 - y0;
      if (width <= 0 || height <= 0) return;
      const plane = width * height;
      const crop = new Float32Array(plane * CHANNELS);
      const stride = out.channels;
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const o = ((y0 + y) * out.width + x0 + x) * stride;
          const i = y * width + x;
          for (let c = 0; c < CHANNELS; c++) crop[c * plane + i] = (out.data[o + c] as number) / maxValue;
        }
      const [a, b, tx, c, d, ty] = canvasToTemplate as [number, number, number, number, number, number];
      // The same map, with the crop's origin moved to (x0, y0).
      const shifted = [a, b, tx + a * x0 + b * y0, c, d, ty + c * x0 + d * y0];
      await pasteFace({ width, height, channels: CHANNELS, data: crop }, face, size, shifted, blend);
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          const o = ((y0 + y) * out.width + x0 + x) * stride;
          const i = y * width + x;
          for (let ch = 0; ch < CHANNELS; ch++) {
            const v = crop[ch * plane + i] as number;
            out.data[o + ch] = v >= 1 ? maxValue : v > 0 ? Math.round(v * maxValue) : 0;
          }
        }
    },
  };
}
