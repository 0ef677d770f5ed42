/**
 * Per-axis blend weights in output pixels. For neighbouring tiles the falling ramp of one and the
 * rising ramp of the other are mirror images over the same band, so they sum to 1 at every pixel:
 * the blended image needs no normalisation pass, and pixels outside any band get weight exactly 1.
 */

export interface AxisWeights {
  /** First output pixel the tile contributes to. */
  start: number;
  /** Weight of each output pixel from `start` on (0–1). */
  weights: Float32Array;
}

/**
 * Weights along one axis for a core [coreStart, coreStart + coreSize) (input px) with feather
 * half-widths before/after, at the given scale. Ramp position is measured at output pixel centres.
 */
export function featherWeights(
  coreStart: number,
  coreSize: number,
  featherBefore: number,
  featherAfter: number,
  scale: number,
): AxisWeights {
  const edgeBefore = coreStart * scale;
  const edgeAfter = (coreStart + coreSize) * scale;
  const bandBefore = featherBefore * scale;
  const bandAfter = featherAfter * scale;
  const start = Math.floor(edgeBefore - bandBefore);
  const end = Math.ceil(edgeAfter + bandAfter);
  const weights = new Float32Array(end - start);
  for (let i = 0; i < weights.length; i++) {
    const centre = start + i + 0.5;
    const rising =
      bandBefore > 0 ? ramp((centre - (edgeBefore - bandBefore)) / (2 * bandBefore)) : centre >= edgeBefore ? 1 : 0;
    const falling =
      bandAfter > 0 ? ramp((edgeAfter + bandAfter - centre) / (2 * bandAfter)) : centre <= edgeAfter ? 1 : 0;
    weights[i] = Math.min(rising, falling);
  }
  return { start, weights };
}

function ramp(t: number): number {
  return t <= 0 ? 0 : t >= 1 ? 1 : t;
}
