import { describe, expect, it } from 'vitest';
import { featherWeights } from '../../src/upscale/feather.ts';
import { planAxis, planTiles, resolveTileSize } from '../../src/upscale/tile-plan.ts';

/** Counts, per input pixel, how many tile cores claim it. */
function coverage(width: number, height: number, tileSize: number, tilePad: number): Uint8Array {
  const hits = new Uint8Array(width * height);
  for (const t of planTiles(width, height, tileSize, tilePad)) {
    for (let y = t.y; y < t.y + t.height; y++) for (let x = t.x; x < t.x + t.width; x++) hits[y * width + x]! += 1;
  }
  return hits;
}

describe('planTiles', () => {
  it.each([
    [37, 53, 16, 10],
    [512, 512, 192, 10],
    [100, 7, 32, 4],
    [1, 1, 64, 10],
    [3, 200, 64, 10],
    [257, 129, 128, 0],
  ])('cores of %i×%i (tile %i, pad %i) cover every pixel exactly once', (w, h, tile, pad) => {
    expect(coverage(w, h, tile, pad).every((n) => n === 1)).toBe(true);
  });

  it('gives every window the same shape, wrapping its core with at least tilePad context', () => {
    const tiles = planTiles(37, 53, 16, 10);
    expect(tiles.length).toBe(3 * 4);
    const { windowWidth, windowHeight } = tiles[0]!;
    for (const t of tiles) {
      expect([t.windowWidth, t.windowHeight]).toEqual([windowWidth, windowHeight]);
      expect(t.x - t.windowX).toBe(10);
      expect(t.y - t.windowY).toBe(10);
      expect(t.windowX + t.windowWidth - (t.x + t.width)).toBeGreaterThanOrEqual(10);
      expect(t.windowY + t.windowHeight - (t.y + t.height)).toBeGreaterThanOrEqual(10);
      expect(t.width).toBeLessThanOrEqual(16);
    }
  });

  it('splits an axis into near-equal cores no larger than the tile size', () => {
    const { spans } = planAxis(100, 30, 10);
    expect(spans.map((s) => s.size)).toEqual([25, 25, 25, 25]);
    const odd = planAxis(101, 30, 10).spans.map((s) => s.size);
    expect(Math.max(...odd) - Math.min(...odd)).toBeLessThanOrEqual(1);
    expect(odd.reduce((a, b) => a + b, 0)).toBe(101);
  });

  it('feathers only inner edges, by half the pad, never more than half the smallest core', () => {
    const [a, b, c] = planAxis(300, 100, 10).spans;
    expect([a!.featherBefore, a!.featherAfter]).toEqual([0, 5]);
    expect([b!.featherBefore, b!.featherAfter]).toEqual([5, 5]);
    expect([c!.featherBefore, c!.featherAfter]).toEqual([5, 0]);
    expect(planAxis(12, 4, 10).spans[1]!.featherBefore).toBe(2);
    expect(planAxis(50, 0, 10).spans).toEqual([
      { start: 0, size: 50, windowStart: -10, featherBefore: 0, featherAfter: 0 },
    ]);
  });

  it('rejects sizes that make no image', () => {
    expect(() => planTiles(0, 10, 8, 2)).toThrow(RangeError);
    expect(() => planTiles(10, 10, 8, -1)).toThrow(RangeError);
  });
});

describe('resolveTileSize', () => {
  it('keeps small images whole and tiles large ones under the memory cap', () => {
    expect(resolveTileSize(512, 512, 0)).toBe(0);
    expect(resolveTileSize(1000, 200, 0)).toBe(0);
    expect(resolveTileSize(1024, 768, 0)).toBe(512);
    expect(resolveTileSize(300, 300, 0, 100 * 100)).toBe(100);
    expect(resolveTileSize(300, 300, 128)).toBe(128);
    expect(resolveTileSize(100, 80, 128)).toBe(0);
  });

  it('counts the padded window, so a thin strip is tiled instead of run as one huge window', () => {
    // 0.1 MP, under the cap by pixels, but its window with pad 10 is 21×100020 = 2.1 MP.
    expect(resolveTileSize(1, 100_000, 0, 512 * 512, 10)).toBe(512);
    const tiles = planTiles(1, 100_000, resolveTileSize(1, 100_000, 0, 512 * 512, 10), 10);
    const first = tiles[0];
    expect(tiles).toHaveLength(Math.ceil(100_000 / 512));
    expect((first?.windowWidth ?? 0) * (first?.windowHeight ?? 0)).toBeLessThan(512 * 512);
    // A photo whose window still fits stays whole.
    expect(resolveTileSize(400, 300, 0, 512 * 512, 10)).toBe(0);
  });
});

describe('featherWeights', () => {
  it('sums to exactly 1 across every output pixel of an axis, for several scales and pads', () => {
    for (const [length, tile, pad, scale] of [
      [300, 100, 10, 4],
      [37, 16, 10, 4],
      [53, 16, 3, 4],
      [90, 20, 7, 2],
      [64, 16, 0, 4],
    ] as const) {
      const total = new Float64Array(length * scale);
      for (const s of planAxis(length, tile, pad).spans) {
        const { start, weights } = featherWeights(s.start, s.size, s.featherBefore, s.featherAfter, scale);
        expect(start).toBeGreaterThanOrEqual(0);
        expect(start + weights.length).toBeLessThanOrEqual(length * scale);
        weights.forEach((w, i) => {
          total[start + i]! += w;
        });
      }
      for (const t of total) expect(t).toBeCloseTo(1, 6);
    }
  });

  it('ramps linearly across the band around an inner edge and is flat elsewhere', () => {
    // Core [100, 200) of a middle tile, feather 5 px at scale 4: band [380, 420) rising, [780, 820) falling.
    const { start, weights } = featherWeights(100, 100, 5, 5, 4);
    expect(start).toBe(380);
    expect(weights.length).toBe(440);
    const at = (x: number) => weights[x - start]!;
    expect(at(380)).toBeCloseTo(0.5 / 40, 6);
    expect(at(399)).toBeCloseTo(19.5 / 40, 6);
    expect(at(400)).toBeCloseTo(20.5 / 40, 6);
    expect(at(419)).toBeCloseTo(39.5 / 40, 6);
    expect(at(420)).toBe(1);
    expect(at(600)).toBe(1);
    expect(at(819)).toBeCloseTo(0.5 / 40, 6);
    for (let x = 381; x < 420; x++) expect(at(x)).toBeGreaterThan(at(x - 1));
  });
});
