/**
 * Pixels as the models see them: planar (CHW) float32 in [0, 1], RGB. Everything between decode and
 * encode works on this shape so no stage needs to know the file format or bit depth.
 */
export interface PlanarImage {
  width: number;
  height: number;
  /** Number of planes in `data`: 3 (RGB) for model input; 1 for an alpha or grey plane. */
  channels: number;
  /** Length width * height * channels, plane after plane. */
  data: Float32Array;
}

/** 8- or 16-bit interleaved samples as sharp reads and writes them. */
export type IntegerSamples = Uint8Array | Uint16Array;

/**
 * Integer pixels, interleaved (RGB, RGBA, grey, grey+alpha), as sharp reads and writes raw images: how a
 * finished output is held (1 or 2 bytes per sample instead of 4 for float planes).
 */
export interface InterleavedImage {
  width: number;
  height: number;
  channels: number;
  bitDepth: 8 | 16;
  /** width * height * channels samples. */
  data: IntegerSamples;
}

export function maxSampleValue(bitDepth: 8 | 16): number {
  return bitDepth === 16 ? 65535 : 255;
}

/**
 * Copies `channels` of interleaved integer samples (`srcChannels` per pixel) into a planar float
 * image scaled to [0, 1]. One tight loop per plane so V8 keeps it monomorphic.
 */
export function interleavedToPlanar(
  src: IntegerSamples,
  width: number,
  height: number,
  srcChannels: number,
  channels: readonly number[],
  maxValue: number,
): PlanarImage {
  const pixels = width * height;
  if (src.length < pixels * srcChannels)
    throw new RangeError(`interleavedToPlanar: ${src.length} samples for ${width}×${height}×${srcChannels}`);
  const data = new Float32Array(pixels * channels.length);
  const scale = 1 / maxValue;
  for (let p = 0; p < channels.length; p++) {
    const c = channels[p] as number;
    const base = p * pixels;
    for (let i = 0, s = c; i < pixels; i++, s += srcChannels) data[base + i] = (src[s] as number) * scale;
  }
  return { width, height, channels: channels.length, data };
}

/**
 * Writes planes (each a PlanarImage; channels taken in order) into interleaved integer samples,
 * clamping to [0, 1] and rounding to the nearest code value (model output overshoots slightly).
 */
export function planarToInterleaved(
  planes: readonly PlanarImage[],
  out: IntegerSamples,
  maxValue: number,
): IntegerSamples {
  const first = planes[0];
  if (!first) throw new RangeError('planarToInterleaved: no planes');
  const pixels = first.width * first.height;
  let total = 0;
  for (const img of planes) {
    if (img.width !== first.width || img.height !== first.height)
      throw new RangeError('planarToInterleaved: planes differ in size');
    total += img.channels;
  }
  if (out.length < pixels * total)
    throw new RangeError(`planarToInterleaved: output holds ${out.length} samples, needs ${pixels * total}`);
  let dst = 0;
  for (const img of planes) {
    for (let c = 0; c < img.channels; c++, dst++) {
      const plane = img.data;
      const base = c * pixels;
      for (let i = 0, o = dst; i < pixels; i++, o += total) {
        const v = plane[base + i] as number;
        // NaN fails both comparisons and lands on 0.
        out[o] = v >= 1 ? maxValue : v > 0 ? Math.round(v * maxValue) : 0;
      }
    }
  }
  return out;
}

/** Rec. 709 luma of an RGB planar image, for writing greyscale sources back as one channel. */
export function planarLuma(rgb: PlanarImage): PlanarImage {
  const pixels = rgb.width * rgb.height;
  const { data } = rgb;
  const out = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    out[i] =
      0.2126 * (data[i] as number) + 0.7152 * (data[pixels + i] as number) + 0.0722 * (data[2 * pixels + i] as number);
  }
  return { width: rgb.width, height: rgb.height, channels: 1, data: out };
}

/** Composites RGB over a solid background using straight (non-premultiplied) alpha. */
export function flattenPlanar(
  rgb: PlanarImage,
  alpha: PlanarImage,
  background: readonly [number, number, number],
): PlanarImage {
  const pixels = rgb.width * rgb.height;
  const out = new Float32Array(pixels * 3);
  const a = alpha.data;
  for (let c = 0; c < 3; c++) {
    const bg = background[c] as number;
    const base = c * pixels;
    for (let i = 0; i < pixels; i++) {
      const al = Math.min(1, Math.max(0, a[i] as number));
      out[base + i] = (rgb.data[base + i] as number) * al + bg * (1 - al);
    }
  }
  return { width: rgb.width, height: rgb.height, channels: 3, data: out };
}
