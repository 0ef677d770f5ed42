/**
 * Where the tiles of a tiled upscale go. Pure geometry in input pixels; the upscaler turns it into
 * windows, model runs and blended output.
 *
 * - Each axis is split into n = ceil(length / tileSize) cores of nearly equal size (they differ by at
 *   most one pixel), so every window has the same shape and tiles can share one ORT run (batch dim).
 * - A window is its core plus `tilePad` context pixels on each side (more on the far side for the
 *   one-pixel-smaller cores); outside the image the context is reflect padded, like RealESRGANer.
 * - Neighbouring tiles are cross-faded over a band of `feather` pixels each side of their shared
 *   edge (linear ramp); at the image border the feather is 0.
 */

/** Largest core area (input pixels) the automatic tile size allows; bounds the model's activation memory. */
export const DEFAULT_MAX_TILE_PIXELS = 512 * 512;

export interface Tile {
  index: number;
  column: number;
  row: number;
  /** Core region: the input pixels this tile is responsible for. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Window fed to the model (may reach past the image: reflect padded). Same size for every tile of a plan. */
  windowX: number;
  windowY: number;
  windowWidth: number;
  windowHeight: number;
  /** Half-width of the cross-fade band at each edge, in input pixels (0 on image borders). */
  featherLeft: number;
  featherRight: number;
  featherTop: number;
  featherBottom: number;
}

export interface AxisSpan {
  start: number;
  size: number;
  windowStart: number;
  featherBefore: number;
  featherAfter: number;
}

export interface AxisPlan {
  spans: AxisSpan[];
  windowSize: number;
}

/** One axis of the plan; tileSize <= 0 means a single span covering the whole length. */
export function planAxis(length: number, tileSize: number, tilePad: number): AxisPlan {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`length must be a positive integer, got ${length}`);
  if (!Number.isInteger(tilePad) || tilePad < 0)
    throw new RangeError(`tilePad must be a non-negative integer, got ${tilePad}`);
  const count = tileSize > 0 ? Math.min(length, Math.ceil(length / tileSize)) : 1;
  const base = Math.floor(length / count);
  const larger = length % count; // the first `larger` cores get one extra pixel
  // The ramp must fit inside the smallest core (rising and falling ramps may not overlap) and inside
  // the context (half the pad keeps at least pad/2 real context under every weighted pixel).
  const feather = count > 1 ? Math.min(tilePad / 2, Math.floor(base / 2)) : 0;
  const spans: AxisSpan[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const size = base + (i < larger ? 1 : 0);
    spans.push({
      start,
      size,
      windowStart: start - tilePad,
      featherBefore: i > 0 ? feather : 0,
      featherAfter: i < count - 1 ? feather : 0,
    });
    start += size;
  }
  return { spans, windowSize: base + (larger > 0 ? 1 : 0) + 2 * tilePad };
}

export function planTiles(width: number, height: number, tileSize: number, tilePad: number): Tile[] {
  const columns = planAxis(width, tileSize, tilePad);
  const rows = planAxis(height, tileSize, tilePad);
  const tiles: Tile[] = [];
  rows.spans.forEach((r, row) => {
    columns.spans.forEach((c, column) => {
      tiles.push({
        index: tiles.length,
        column,
        row,
        x: c.start,
        y: r.start,
        width: c.size,
        height: r.size,
        windowX: c.windowStart,
        windowY: r.windowStart,
        windowWidth: columns.windowSize,
        windowHeight: rows.windowSize,
        featherLeft: c.featherBefore,
        featherRight: c.featherAfter,
        featherTop: r.featherBefore,
        featherBottom: r.featherAfter,
      });
    });
  });
  return tiles;
}

/**
 * tileSize 0 ("whole image when it fits"): the whole image while its model window (the image plus
 * `tilePad` on every side) has at most maxTilePixels pixels, else square tiles of that area (windows add
 * the pad around them); an explicit tile size is taken as given. Returns 0 for "one tile".
 *
 * The window, not the image, is what the model's activations scale with: a 1×100000 strip has only 0.1 MP
 * but a 21×100020 window (2.1 MP, ×64 feature maps), which took a worker to 3.1 GiB before the pad counted.
 */
export function resolveTileSize(
  width: number,
  height: number,
  tileSize: number,
  maxTilePixels = DEFAULT_MAX_TILE_PIXELS,
  tilePad = 0,
): number {
  if (tileSize > 0) return tileSize >= width && tileSize >= height ? 0 : tileSize;
  if ((width + 2 * tilePad) * (height + 2 * tilePad) <= maxTilePixels) return 0;
  return Math.max(1, Math.floor(Math.sqrt(maxTilePixels)));
}
