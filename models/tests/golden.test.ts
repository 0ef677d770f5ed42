/**
 * Proof that our ncnn → ONNX conversion of Real-ESRGAN computes what the upstream implementation
 * computes: the converted models, run with onnxruntime-node, must reproduce the outputs of
 * realesrgan-ncnn-vulkan (fixtures/golden, see its README) to ≥ 50 dB PSNR.
 *
 * To compare like with like, the ONNX side replays upstream's pre/post-processing exactly
 * (realesrgan.cpp + realesrgan_preproc/postproc.comp, single tile): RGB order, value / 255,
 * 10 px mirror padding around the whole image, crop 40 px of output, then floor(v·255 + 0.5)
 * clamped to 0–255.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureModel, INPUT_NAME, OUTPUT_NAME } from '@photoenhance/models';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/golden');
const SCALE = 4;
/** upscayl-bin's pre-padding for every model folder named "models" (main.cpp). */
const PREPADDING = 10;
const MIN_PSNR_DB = 50;
/** Upper bound on samples excluded as upstream's negative-value wrap (see isUpstreamWrap). */
const MAX_EXCLUDED_FRACTION = 0.05;

const ProvenanceSchema = z.object({
  tile: z.object({ prepadding: z.literal(PREPADDING) }),
  /** sha256 of each input file the goldens were made from. */
  inputs: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  cases: z
    .array(
      z.object({
        input: z.string().regex(/^inputs\/[\w.-]+\.png$/),
        model: z.enum(['realesrgan-x4fast', 'realesrgan-x4plus']),
        output: z.string().regex(/^outputs\/[\w.-]+\.png$/),
      }),
    )
    .min(1),
});
const provenance = ProvenanceSchema.parse(JSON.parse(readFileSync(join(goldenDir, 'provenance.json'), 'utf8')));

interface Rgb8 {
  width: number;
  height: number;
  /** Interleaved RGB, 3 bytes per pixel. */
  data: Uint8Array;
}

async function readRgb8(relative: string): Promise<Rgb8> {
  const { data, info } = await sharp(join(goldenDir, relative)).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${relative}: expected 3 channels, got ${info.channels}`);
  return { width: info.width, height: info.height, data };
}

/**
 * Mirror index without repeating the edge sample (…2 1 | 0 1 2 … w-1 | w-2 …), the formula of
 * upstream's preproc shader; valid while pad < size.
 */
function mirrorIndex(i: number, size: number): number {
  const a = Math.abs(i);
  return size - 1 - Math.abs(a - (size - 1));
}

/** Interleaved uint8 RGB → planar NCHW float in [0,1] with `pad` mirrored pixels on every side. */
function toPaddedPlanar(img: Rgb8, pad: number): { data: Float32Array; width: number; height: number } {
  const width = img.width + 2 * pad;
  const height = img.height + 2 * pad;
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let y = 0; y < height; y++) {
    const sy = mirrorIndex(y - pad, img.height);
    for (let x = 0; x < width; x++) {
      const s = (sy * img.width + mirrorIndex(x - pad, img.width)) * 3;
      for (let c = 0; c < 3; c++) data[c * plane + y * width + x] = img.data[s + c]! / 255;
    }
  }
  return { data, width, height };
}

/** Model output for the padded input, cropped back to the image and kept as raw floats (planar). */
interface RawOutput {
  width: number;
  height: number;
  planes: Float32Array;
}

async function runUpstreamEquivalent(session: InferenceSession, img: Rgb8): Promise<RawOutput> {
  const padded = toPaddedPlanar(img, PREPADDING);
  const feeds = { [INPUT_NAME]: new Tensor('float32', padded.data, [1, 3, padded.height, padded.width]) };
  const out = (await session.run(feeds))[OUTPUT_NAME];
  if (!out) throw new Error(`model has no "${OUTPUT_NAME}" output`);
  const [, channels, oh, ow] = out.dims as [number, number, number, number];
  expect([channels, oh, ow]).toEqual([3, padded.height * SCALE, padded.width * SCALE]);
  const full = out.data as Float32Array;
  const width = img.width * SCALE;
  const height = img.height * SCALE;
  const off = PREPADDING * SCALE;
  const planes = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const src = c * oh * ow + (y + off) * ow + off;
      planes.set(full.subarray(src, src + width), c * width * height + y * width);
    }
  }
  out.dispose();
  return { width, height, planes };
}

/** Upstream's postproc: floor(v·255 + 0.5) clamped to 0–255, i.e. round half up with saturation. */
function quantise(v: number): number {
  return Math.min(255, Math.max(0, Math.floor(v * 255 + 0.5)));
}

/**
 * Upstream computes `clamp(uint(floor(v·255 + 0.5)), 0, 255)`: a negative value becomes a huge
 * unsigned number and saturates to 255 instead of 0. So a golden 255 where the true output is
 * (near) black is that bug, not a model difference. "Near" leaves 1.5 LSB for upstream's fp16
 * activations; a genuine 255 needs v ≥ 254.5/255, far from this band.
 */
function isUpstreamWrap(golden: number, v: number): boolean {
  return golden === 255 && v < 1 / 255;
}

interface Comparison {
  psnr: number;
  maxAbsDiff: number;
  excluded: number;
  samples: number;
}

/**
 * PSNR (peak 255) of the quantised ONNX output against the golden over the samples that are not
 * upstream wraps. `shiftX` compares ONNX pixel x against golden pixel x+shiftX (sanity check only).
 */
function compareWithGolden(golden: Rgb8, out: RawOutput, shiftX = 0): Comparison {
  const { width, height, planes } = out;
  if (golden.width !== width || golden.height !== height) {
    throw new Error(`golden is ${golden.width}x${golden.height}, ONNX output ${width}x${height}`);
  }
  let sse = 0;
  let maxAbsDiff = 0;
  let excluded = 0;
  let samples = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width - shiftX; x++) {
      for (let c = 0; c < 3; c++) {
        const v = planes[c * width * height + y * width + x]!;
        const g = golden.data[(y * width + x + shiftX) * 3 + c]!;
        samples++;
        if (isUpstreamWrap(g, v)) {
          excluded++;
          continue;
        }
        const d = quantise(v) - g;
        sse += d * d;
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(d));
      }
    }
  }
  const mse = sse / (samples - excluded);
  return {
    psnr: mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse),
    maxAbsDiff,
    excluded,
    samples,
  };
}

describe('golden fixtures', () => {
  it('inputs are byte-identical to the ones the goldens were made from', () => {
    for (const c of provenance.cases) {
      const digest = createHash('sha256')
        .update(readFileSync(join(goldenDir, c.input)))
        .digest('hex');
      expect(digest, c.input).toBe(provenance.inputs[c.input]);
    }
  });

  it('mirrors like the upstream shader (edge sample not repeated)', () => {
    expect([-3, -2, -1, 0, 1, 4, 5, 6, 7].map((i) => mirrorIndex(i, 5))).toEqual([3, 2, 1, 0, 1, 4, 3, 2, 1]);
  });

  it('quantises with round-half-up and saturation', () => {
    expect([-0.2, 0, 0.4999 / 255, 0.5 / 255, 1, 1.3].map(quantise)).toEqual([0, 0, 0, 1, 255, 255]);
  });

  it('pads planar input with mirrored pixels', () => {
    const img: Rgb8 = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i * 10) };
    const p = toPaddedPlanar(img, 1);
    expect([p.width, p.height]).toEqual([5, 4]);
    // Red plane, row 0 of the padded image mirrors source row 1: pixels 4,3,4,5,4 → red = 3·index·10/255.
    const red = Array.from(p.data.subarray(0, 5), (v) => Math.round(v * 255));
    expect(red).toEqual([120, 90, 120, 150, 120]);
  });
});

// One session per model file, shared by its cases; x4plus is ~36 MFLOP per input pixel, so inputs
// stay small. The fp16 copies (for GPUs) are held to the same bar: they are what workers ship.
const byModel = Map.groupBy(provenance.cases, (c) => c.model);

for (const [model, cases] of byModel) {
  for (const variant of ['fp32', 'fp16'] as const) {
    describe(`${model} ${variant} (ensureModel) matches upstream realesrgan-ncnn-vulkan`, () => {
      let session: InferenceSession | undefined;

      beforeAll(async () => {
        const { path } = await ensureModel(model, { variant });
        session = await InferenceSession.create(path, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
      });
      afterAll(async () => {
        await session?.release();
      });

      for (const c of cases) {
        it(`${c.input} → ≥ ${MIN_PSNR_DB} dB`, async () => {
          if (!session) throw new Error('no session');
          const input = await readRgb8(c.input);
          const golden = await readRgb8(c.output);
          const out = await runUpstreamEquivalent(session, input);
          const cmp = compareWithGolden(golden, out);
          const shifted = compareWithGolden(golden, out, 1);
          console.info(
            `${model} ${variant} ${c.input}: PSNR ${cmp.psnr.toFixed(2)} dB, max |diff| ${cmp.maxAbsDiff}, ` +
              `excluded ${cmp.excluded}/${cmp.samples} (${((100 * cmp.excluded) / cmp.samples).toFixed(2)} %), ` +
              `1-px shift ${shifted.psnr.toFixed(2)} dB`,
          );
          expect(cmp.psnr).toBeGreaterThanOrEqual(MIN_PSNR_DB);
          expect(cmp.excluded / cmp.samples).toBeLessThan(MAX_EXCLUDED_FRACTION);
          // The comparison can tell: a one-pixel misalignment must land far below the threshold.
          expect(shifted.psnr).toBeLessThan(MIN_PSNR_DB - 15);
        });
      }
    });
  }
}
