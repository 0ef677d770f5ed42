/**
 * Test helpers: write tiny ncnn .bin files and straightforward JS reference implementations of the
 * ncnn layers (plain loops over NCHW Float32Arrays, batch 1) to compare converted models against.
 */
import { floatToHalfBits } from '../src/onnx/float16.ts';

export interface Chw {
  c: number;
  h: number;
  w: number;
  data: Float32Array;
}

/** Deterministic values that are exact in fp16 (multiples of 1/64 in [-1, 1)), so fp16 storage loses nothing. */
export function exactHalfValues(count: number, seed: number): Float32Array {
  return Float32Array.from(
    { length: count },
    (_, i) => (Math.round(Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453 * 64) % 64) / 64,
  );
}

export class BinWriter {
  private readonly chunks: Buffer[] = [];

  fp16Weights(values: Float32Array): this {
    const head = Buffer.alloc(4);
    head.writeUInt32LE(0x01306b47);
    const body = Buffer.alloc(Math.ceil((values.length * 2) / 4) * 4); // ncnn pads fp16 blobs to 4 bytes
    for (const [i, v] of values.entries()) body.writeUInt16LE(floatToHalfBits(v), i * 2);
    this.chunks.push(head, body);
    return this;
  }

  fp32(values: Float32Array): this {
    const body = Buffer.alloc(values.length * 4);
    for (const [i, v] of values.entries()) body.writeFloatLE(v, i * 4);
    this.chunks.push(body);
    return this;
  }

  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.chunks));
  }
}

export function conv2d(
  x: Chw,
  weights: Float32Array,
  bias: Float32Array | undefined,
  outC: number,
  k: number,
  opts: { pad?: number; stride?: number; dilation?: number } = {},
): Chw {
  const { pad = 0, stride = 1, dilation = 1 } = opts;
  const h = Math.floor((x.h + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
  const w = Math.floor((x.w + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
  const data = new Float32Array(outC * h * w);
  for (let o = 0; o < outC; o++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        let acc = bias ? bias[o]! : 0;
        for (let i = 0; i < x.c; i++) {
          for (let kr = 0; kr < k; kr++) {
            for (let kc = 0; kc < k; kc++) {
              const rr = r * stride + kr * dilation - pad;
              const cc = c * stride + kc * dilation - pad;
              if (rr < 0 || cc < 0 || rr >= x.h || cc >= x.w) continue;
              acc += weights[((o * x.c + i) * k + kr) * k + kc]! * x.data[(i * x.h + rr) * x.w + cc]!;
            }
          }
        }
        data[(o * h + r) * w + c] = acc;
      }
    }
  }
  return { c: outC, h, w, data };
}

export function map(x: Chw, f: (v: number, channel: number) => number): Chw {
  const plane = x.h * x.w;
  return { ...x, data: x.data.map((v, i) => f(v, Math.floor(i / plane))) };
}

export const prelu = (x: Chw, slopes: Float32Array): Chw =>
  map(x, (v, ch) => (v < 0 ? v * slopes[slopes.length === 1 ? 0 : ch]! : v));
export const leakyRelu = (x: Chw, slope: number): Chw => map(x, (v) => (v < 0 ? v * slope : v));
export const relu = (x: Chw): Chw => map(x, (v) => Math.max(0, v));

/** PyTorch PixelShuffle: out[c][y*r+i][x*r+j] = in[c*r*r + i*r + j][y][x]. */
export function pixelShuffle(x: Chw, r: number): Chw {
  const c = x.c / (r * r);
  const h = x.h * r;
  const w = x.w * r;
  const data = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const src = ch * r * r + (y % r) * r + (xx % r);
        data[(ch * h + y) * w + xx] = x.data[(src * x.h + Math.floor(y / r)) * x.w + Math.floor(xx / r)]!;
      }
    }
  }
  return { c, h, w, data };
}

export function nearestUpsample(x: Chw, s: number): Chw {
  const h = x.h * s;
  const w = x.w * s;
  const data = new Float32Array(x.c * h * w);
  for (let ch = 0; ch < x.c; ch++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++)
        data[(ch * h + y) * w + xx] = x.data[(ch * x.h + Math.floor(y / s)) * x.w + Math.floor(xx / s)]!;
    }
  }
  return { c: x.c, h, w, data };
}

export function add(a: Chw, b: Chw, ca = 1, cb = 1): Chw {
  return { ...a, data: a.data.map((v, i) => v * ca + b.data[i]! * cb) };
}

export function concat(...xs: Chw[]): Chw {
  const data = new Float32Array(xs.reduce((s, x) => s + x.data.length, 0));
  let offset = 0;
  for (const x of xs) {
    data.set(x.data, offset);
    offset += x.data.length;
  }
  return { c: xs.reduce((s, x) => s + x.c, 0), h: xs[0]!.h, w: xs[0]!.w, data };
}
