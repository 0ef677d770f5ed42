/**
 * Fidelity of one model output against a reference output (int8 vs fp32): PSNR over the whole image
 * and over its worst 64×64 window. Both outputs are clamped to [0,1] first, as the engine does, and
 * compared in float (no 8-bit rounding to hide small errors); peak value 1.
 */

export interface Fidelity {
  /** Whole-image PSNR in dB (Infinity when identical). */
  psnrDb: number;
  /** PSNR of the worst 64×64 window (stride 32, every channel). */
  worstPatchDb: number;
}

export const PATCH = 64;

/** a, b: NCHW [1,C,H,W] float32 of the same shape. */
export function fidelity(a: Float32Array, b: Float32Array, channels: number, height: number, width: number): Fidelity {
  if (a.length !== b.length || a.length !== channels * height * width) throw new Error('fidelity: shape mismatch');
  const plane = height * width;
  // per-pixel squared error summed over channels, then an integral image for the window sums
  const err = new Float64Array(plane);
  let total = 0;
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) {
      const d = clamp01(a[c * plane + i]!) - clamp01(b[c * plane + i]!);
      err[i]! += d * d;
      total += d * d;
    }
  }
  const psnr = (sse: number, n: number) => (sse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(n / sse));
  const ph = Math.min(PATCH, height);
  const pw = Math.min(PATCH, width);
  const integral = new Float64Array((height + 1) * (width + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += err[y * width + x]!;
      integral[(y + 1) * (width + 1) + x + 1] = integral[y * (width + 1) + x + 1]! + row;
    }
  }
  const starts = (size: number, patch: number) => {
    const s: number[] = [];
    for (let p = 0; p + patch < size; p += PATCH / 2) s.push(p);
    s.push(size - patch);
    return s;
  };
  let worst = 0;
  for (const y of starts(height, ph)) {
    for (const x of starts(width, pw)) {
      const w = width + 1;
      const sum =
        integral[(y + ph) * w + x + pw]! -
        integral[y * w + x + pw]! -
        integral[(y + ph) * w + x]! +
        integral[y * w + x]!;
      worst = Math.max(worst, sum);
    }
  }
  return { psnrDb: psnr(total, a.length), worstPatchDb: psnr(worst, ph * pw * channels) };
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}
