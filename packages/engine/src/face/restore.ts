import type { FaceOptions, FaceReport } from '@photoenhance/contracts';
import { PhotoEnhanceError, throwIfAborted } from '@photoenhance/contracts';
import type { PlanarImage } from '@photoenhance/image';
import {
  type Alignment,
  composeScale,
  cropTransform,
  estimateAlignmentFromPoints,
  type FaceTemplate,
  MAX_ALIGNMENT_RESIDUAL,
} from './alignment.ts';
import type { DetectedFace, SkippedFace } from './detect.ts';
import { pasteFace } from './paste.ts';
import { assertRgb } from './pixels.ts';
import { faceValues, type Restorer, runRestorerBatch } from './restorer.ts';
import { cropAlignedFace } from './warp.ts';

const MIN_EYE_DISTANCE = 5;

export const NO_RESTORER_NOTICE =
  'Faces were detected but NOT restored: no face restoration model is installed. ' +
  'Install one with `npm run models -- --with gfpgan-1.4`, or pass a GFPGAN-family ONNX file with `--face-model path.onnx`.';

/**
 * A canvas that pastes restored faces itself (the engine's integer output at the requested scale): the
 * restorer's work is the same, only the last write differs from a planar canvas.
 */
export interface FaceCanvas {
  width: number;
  height: number;
  /** `face` is `size`×`size` (the restorer's face size), planar RGB. */
  paste(face: Float32Array, size: number, canvasToTemplate: readonly number[], blend: number): Promise<void>;
}

export interface RestoreFacesArgs<Canvas extends PlanarImage | FaceCanvas = PlanarImage> {
  original: PlanarImage;
  /** The original × factor (Real-ESRGAN output, or a plain resize when the background upsampler is off). Modified in place. */
  upscaled: Canvas;
  factor: number;
  faces: DetectedFace[];
  /** undefined → nothing is restored and the report says why. */
  restorer?: Restorer;
  options: Pick<FaceOptions, 'blend' | 'fidelity'>;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Alignment of a detected face: its 6 keypoints → the unit template (eyes, nose, mouth; ears unused);
 * `cropTransform` scales it to a restorer's crop.
 */
export function estimateAlignment(face: DetectedFace, template: FaceTemplate = 'ffhq'): Alignment {
  return estimateAlignmentFromPoints(face.keypoints, template);
}

function roundBox(box: readonly number[]): [number, number, number, number] {
  return box.map((v) => Math.round(v * 10) / 10) as [number, number, number, number];
}

/**
 * Restores each face and pastes it into the upscaled image: align a crop of the restorer's size and
 * template from the ORIGINAL (the
 * restorer wants the real photo, not GAN texture), run the restorer (several faces per run when it
 * batches), paste back through the inverse transform scaled by the upscale factor with the feathered
 * mask, weighted by `blend`. `upscaled` is modified in place (it can be hundreds of MB) and returned.
 */
export async function restoreFaces<Canvas extends PlanarImage | FaceCanvas = PlanarImage>(
  args: RestoreFacesArgs<Canvas>,
): Promise<{ image: Canvas; report: FaceReport }> {
  const { original, upscaled, factor, faces, restorer, options, signal, onProgress } = args;
  assertRgb(original, 'Face restoration original');
  if (!('paste' in upscaled)) assertRgb(upscaled, 'Face restoration canvas');
  const sx = upscaled.width / original.width;
  const sy = upscaled.height / original.height;
  // The canvas must be the original resized edge to edge; rounding of the size is the only slack.
  if (
    !(factor > 0) ||
    Math.abs(upscaled.width - original.width * factor) > 1 ||
    Math.abs(upscaled.height - original.height * factor) > 1
  ) {
    throw new PhotoEnhanceError(
      'INTERNAL',
      `Upscaled image ${upscaled.width}×${upscaled.height} is not the original ${original.width}×${original.height} × ${factor}`,
      {
        details: { factor, original: [original.width, original.height], upscaled: [upscaled.width, upscaled.height] },
      },
    );
  }
  const report: FaceReport = { detected: faces.length, restored: 0, skipped: [] };
  if (faces.length === 0) return { image: upscaled, report };
  if (!restorer) {
    report.notice = NO_RESTORER_NOTICE;
    return { image: upscaled, report };
  }
  report.model = restorer.id;
  if (options.blend <= 0) {
    report.notice = 'Face restoration blend is 0: faces are kept as upscaled, the restorer was not run.';
    return { image: upscaled, report };
  }

  const work: { face: DetectedFace; alignment: Alignment }[] = [];
  const skipped: SkippedFace[] = report.skipped;
  for (const face of faces) {
    const alignment = estimateAlignment(face, restorer.template);
    // Detection already filters these; faces from elsewhere (an API caller, a test) get the same rule.
    if (alignment.eyeDistance < MIN_EYE_DISTANCE)
      skipped.push({
        reason: `eyes ${alignment.eyeDistance.toFixed(1)} px apart, too small to restore`,
        box: roundBox(face.box),
      });
    else if (!(alignment.residual <= MAX_ALIGNMENT_RESIDUAL))
      skipped.push({
        reason: `profile or not a face (alignment residual ${(alignment.residual * 100).toFixed(1)} % of the crop)`,
        box: roundBox(face.box),
      });
    else work.push({ face, alignment });
  }

  const size = restorer.faceSize;
  const values = faceValues(size);
  const total = work.length;
  // No call for an empty batch: a 0/0 fraction would be NaN to the caller.
  if (total > 0) onProgress?.(0, total);
  for (let start = 0; start < total; start += restorer.maxBatch) {
    throwIfAborted(signal);
    const batch = work.slice(start, start + restorer.maxBatch);
    // The crops go straight into the model's input buffer, one slot per face.
    const input = new Float32Array(batch.length * values);
    for (let i = 0; i < batch.length; i++)
      await cropAlignedFace(
        original,
        cropTransform(batch[i]!.alignment.matrix, size),
        size,
        input.subarray(i * values, (i + 1) * values),
      );
    throwIfAborted(signal);
    const restored = await runRestorerBatch(restorer, input, batch.length, options.fidelity);
    for (let i = 0; i < batch.length; i++) {
      // canvas px → original px (÷ per-axis scale) → template.
      const m = cropTransform(batch[i]!.alignment.matrix, size);
      const canvasToTemplate =
        sx === sy ? composeScale(m, 1 / sx) : [m[0]! / sx, m[1]! / sy, m[2]!, m[3]! / sx, m[4]! / sy, m[5]!];
      if ('paste' in upscaled) await upscaled.paste(restored[i]!, size, canvasToTemplate, options.blend);
      else await pasteFace(upscaled, restored[i]!, size, canvasToTemplate, options.blend);
      report.restored++;
      onProgress?.(start + i + 1, total);
    }
  }
  return { image: upscaled, report };
}
