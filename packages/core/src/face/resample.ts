/**
 * Separable Lanczos-3 resize of planar float RGB, in JS. For the paste's pre-shrink of a 512 face it
 * beats a sharp round trip (interleave to 16 bit, libvips' non-SIMD 16-bit path, de-interleave: ≈ 5 ms)
 * by doing the same filter on the planes directly, in float, with exactly normalised weights.
 */

const LOBES = 3;

function lanczos(x: number): number {
  if (x === 0) return 1;
  if (x <= -LOBES || x >= LOBES) return 0;
  const px = Math.PI * x;
  return (LOBES * Math.sin(px) * Math.sin(px / LOBES)) / (px * px);
}

/**
 * Per output position: the first source index and `taps` weights (zero-padded). The kernel is
 * stretched by the shrink factor (a low-pass at the output's Nyquist); taps outside the source are
 * folded onto the edge pixel, i.e. the edge is extended, as libvips does.
 */
interface Taps {
  taps: number;
  start: Int32Array;
  weights: Float32Array;
}

function buildTaps(src: number, dst: number): Taps {
  const ratio = src / dst;
  const stretch = Math.max(1, ratio);
  const support = LOBES * stretch;
  const taps = Math.min(src, Math.ceil(2 * support) + 1);
  const start = new Int32Array(dst);
  const weights = new Float32Array(dst * taps);
  const raw = new Float64Array(src);
  for (let j = 0; j < dst; j++) {
    const centre = (j + 0.5) * ratio - 0.5;
    const lo = Math.floor(centre - support) + 1;
    const hi = Math.ceil(centre + support) - 1;
    raw.fill(0);
    let sum = 0;
    for (let i = lo; i <= hi; i++) {
      const w = lanczos((i - centre) / stretch);
      raw[i < 0 ? 0 : i >= src ? src - 1 : i]! += w;
      sum += w;
    }
    const first = Math.max(0, Math.min(src - taps, lo < 0 ? 0 : lo));
    start[j] = first;
    for (let t = 0; t < taps; t++) weights[j * taps + t] = raw[first + t]! / sum;
  }
  return { taps, start, weights };
}

/**
 * `src` planar RGB sw×sh → a new planar RGB dw×dh (meant for shrinking), clamped to [0, 1] like an
 * image resize would be: the kernel's negative lobes overshoot at hard edges.
 */
export function resizePlanarLanczos3(src: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
  const rows = buildTaps(sh, dh);
  const cols = buildTaps(sw, dw);
  const out = new Float32Array(dw * dh * 3);
  const tmp = new Float32Array(sw * dh);
  const plane = sw * sh;
  for (let c = 0; c < 3; c++) {
    verticalPass(src.subarray(c * plane, (c + 1) * plane), sw, rows, tmp);
    horizontalPass(tmp, sw, dh, cols, out.subarray(c * dw * dh, (c + 1) * dw * dh), dw);
  }
  return out;
}

/**
 * Rows of `dst` = weighted sums of rows of `src`. Four taps per sweep over the row: V8 does not
 * vectorise, so fewer passes over the accumulator is what makes this ≈ 2× faster than one tap a sweep.
 */
function verticalPass(src: Float32Array, width: number, rows: Taps, dst: Float32Array): void {
  const { taps, start, weights } = rows;
  const row = (i: number) => src.subarray(i * width, (i + 1) * width);
  for (let y = 0; y < start.length; y++) {
    const acc = dst.subarray(y * width, (y + 1) * width);
    acc.fill(0);
    const first = start[y]!;
    const wb = y * taps;
    let t = 0;
    for (; t + 3 < taps; t += 4) {
      const w0 = weights[wb + t]!;
      const w1 = weights[wb + t + 1]!;
      const w2 = weights[wb + t + 2]!;
      const w3 = weights[wb + t + 3]!;
      const r0 = row(first + t);
      const r1 = row(first + t + 1);
      const r2 = row(first + t + 2);
      const r3 = row(first + t + 3);
      for (let x = 0; x < width; x++) acc[x]! += w0 * r0[x]! + w1 * r1[x]! + w2 * r2[x]! + w3 * r3[x]!;
    }
    for (; t < taps; t++) {
      const w = weights[wb + t]!;
      const r = row(first + t);
      for (let x = 0; x < width; x++) acc[x]! += w * r[x]!;
    }
  }
}

/** Each row of `src` (width sw) filtered down to dw columns of `dst`, clamped to [0, 1]. */
function horizontalPass(
  src: Float32Array,
  sw: number,
  height: number,
  cols: Taps,
  dst: Float32Array,
  dw: number,
): void {
  const { taps, start, weights } = cols;
  for (let y = 0; y < height; y++) {
    const row = y * sw;
    const o = y * dw;
    for (let x = 0; x < dw; x++) {
      const s = row + start[x]!;
      const wb = x * taps;
      let sum = 0;
      let t = 0;
      for (; t + 3 < taps; t += 4)
        sum +=
          weights[wb + t]! * src[s + t]! +
          weights[wb + t + 1]! * src[s + t + 1]! +
          weights[wb + t + 2]! * src[s + t + 2]! +
          weights[wb + t + 3]! * src[s + t + 3]!;
      for (; t < taps; t++) sum += weights[wb + t]! * src[s + t]!;
      dst[o + x] = sum < 0 ? 0 : sum > 1 ? 1 : sum;
    }
  }
}
