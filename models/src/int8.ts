/**
 * int8 variants of the upscalers: calibration set + static QDQ quantization of the fp32 graph.
 *
 * Calibration photos: the three committed golden inputs (models/tests/fixtures/golden/inputs: a face,
 * a cat's eye, a synthetic checker/gradient/noise image; 48–80 px a side), so preparation needs no
 * download and takes seconds even for x4plus. Each file's sha256 is checked before use: a changed
 * photo would silently change the model (and its pinned hash).
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { ModelError } from './errors.ts';
import { sha256Bytes } from './files.ts';
import { correctBiases } from './onnx/bias-correction.ts';
import { type CalibrationInput, calibrateRanges } from './onnx/calibrate.ts';
import { convLayers, equalizeCrossLayer } from './onnx/equalize.ts';
import { decodeModel } from './onnx/proto.ts';
import { quantizationTargets, quantizeQdq } from './onnx/quantize-qdq.ts';

export const CALIBRATION_DIR = new URL('../tests/fixtures/golden/inputs/', import.meta.url);

/** The calibration photos and their sha256 (the same files golden/provenance.json pins). */
export const CALIBRATION_IMAGES: Readonly<Record<string, string>> = {
  'astronaut-face-64x64.png': '479f0fec0484b05e3ad59677274ede9ad5a3e235c711eb1eae3128062a3e9359',
  'chelsea-eye-80x56.png': 'e5cdc6f9d8f4ad64df68d7d67db06d40f32c9dbfd17f9fb76495ef05104f8cbc',
  'synthetic-48x64.png': '8ff7570192787409648de5fb04a7f2030a5d87cbf40f2a9acdcd355c3d89ac28',
};

/** Reads an 8-bit RGB image as NCHW float32 in [0,1] (the upscalers' input contract). */
export async function imageToPlanar(bytes: Uint8Array): Promise<CalibrationInput & { width: number; height: number }> {
  const { data, info } = await sharp(bytes)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = info.width * info.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = data[i * info.channels + c]! / 255;
  return { data: out, dims: [1, 3, info.height, info.width], width: info.width, height: info.height };
}

export async function calibrationInputs(): Promise<CalibrationInput[]> {
  return Promise.all(
    Object.entries(CALIBRATION_IMAGES).map(async ([file, sha256]) => {
      const bytes = await readFile(new URL(file, CALIBRATION_DIR));
      const actual = sha256Bytes(bytes);
      if (actual !== sha256)
        throw new ModelError('MODEL_INVALID', `calibration photo ${file} has sha256 ${actual}, expected ${sha256}`);
      return imageToPlanar(bytes);
    }),
  );
}

export interface Int8Recipe {
  /** Keep the first and the last convolution in fp32 (they are a small share of the work). */
  floatEnds: boolean;
  mode?: 'static' | 'weights';
  /** Calibration percentile (see CalibrateOptions.percentile). */
  percentile?: number;
  /** Cross-layer equalization of the fp32 graph first (onnx/equalize.ts). */
  equalize?: boolean;
  /** Passes of empirical bias correction on the calibration inputs (onnx/bias-correction.ts); 0: none. */
  biasCorrection?: number;
  /** Keep the ops that write the graph output (the final residual Add) in fp32 (QdqOptions.floatOutputOps). */
  floatOutput?: boolean;
  /** Layers (named by their conv) kept in fp32 with their activation nodes: mixed precision. */
  floatLayers?: readonly string[];
}

export const DEFAULT_INT8_RECIPE: Int8Recipe = { floatEnds: true };

/** Names of the first and last Conv nodes (graph order is topological). */
function endConvs(fp32Bytes: Uint8Array): Set<string> {
  const convs = decodeModel(fp32Bytes).graph.node.filter((n) => n.opType === 'Conv');
  return new Set([convs[0]?.name ?? '', convs.at(-1)?.name ?? ''].filter(Boolean));
}

/** fp32 ONNX → QDQ int8 ONNX, calibrated on the calibration photos. Deterministic. */
export async function quantizeUpscaler(
  fp32Bytes: Uint8Array,
  recipe: Int8Recipe = DEFAULT_INT8_RECIPE,
  inputs?: readonly CalibrationInput[],
): Promise<Uint8Array> {
  const model = recipe.equalize ? equalizeCrossLayer(fp32Bytes).bytes : fp32Bytes;
  const floatConvs = recipe.floatEnds ? endConvs(model) : new Set<string>();
  const layers = recipe.floatLayers?.length ? convLayers(model) : new Map<string, string[]>();
  const floatNodes = new Set(
    (recipe.floatLayers ?? []).flatMap((conv) => {
      const nodes = layers.get(conv);
      if (!nodes) throw new Error(`int8 recipe: no conv layer named "${conv}"`);
      return nodes;
    }),
  );
  const calibration =
    recipe.mode === 'weights' && !recipe.biasCorrection ? [] : (inputs ?? (await calibrationInputs()));
  const floatOutputOps = recipe.floatOutput ?? false;
  const targets = quantizationTargets(model, floatConvs, floatNodes, floatOutputOps);
  const ranges =
    recipe.mode === 'weights'
      ? new Map()
      : await calibrateRanges(model, targets, calibration, { percentile: recipe.percentile });
  const quantize = (m: Uint8Array) =>
    quantizeQdq(m, { ranges, floatConvs, floatNodes, floatOutputOps, mode: recipe.mode });
  if (!recipe.biasCorrection) return quantize(model);
  const corrected = await correctBiases(model, quantize, calibration, { passes: recipe.biasCorrection });
  return quantize(corrected.bytes);
}
