import { z } from 'zod';
import { PRECISIONS, QUALITY_LEVELS } from './choices.ts';
import { OUTPUT_FORMATS } from './formats.ts';

/** What a client or the CLI may ask of the engine: one schema for the HTTP form, the job message and the CLI. */

export const FaceOptionsSchema = z.object({
  /** Run detection + restoration at all. */
  enabled: z.boolean().default(true),
  /** Restorer: a manifest id (gfpgan-1.4, gpen-bfr-1024, codeformer…) or a path to an ONNX restorer file. */
  model: z.string().min(1).default('gfpgan-1.4'),
  onlyCenterFace: z.boolean().default(false),
  maxFaces: z.number().int().min(1).max(100).default(20),
  /** Minimum face box side in original pixels. */
  minFaceSize: z.number().int().min(1).default(16),
  /** 0 keeps the upscaled face, 1 the fully restored face. */
  blend: z.number().min(0).max(1).default(1),
  /** CodeFormer-style fidelity weight, used only by models that take one. */
  fidelity: z.number().min(0).max(1).default(0.5),
});
export type FaceOptions = z.infer<typeof FaceOptionsSchema>;

export const EnhanceOptionsSchema = z.object({
  /** Output size relative to the input, 1–16 (model ×4, then a high-quality resize to the exact size). */
  scale: z.number().min(1).max(16).default(4),
  quality: z.enum(QUALITY_LEVELS).default('auto'),
  /** Tile side in input pixels; 0 = whole image when it fits. */
  tileSize: z.number().int().min(0).max(4096).default(0),
  /** Context pixels around each tile (reflect padding at the image border). */
  tilePad: z.number().int().min(0).max(64).default(10),
  /** Use Real-ESRGAN for the background; false = plain Lanczos resize (faces are still restored). */
  backgroundUpsampler: z.boolean().default(true),
  /** Explicit upscaler model id, overriding the quality level. */
  upscaleModel: z.string().min(1).optional(),
  /** Upscaler variant; an explicit one the model does not ship is refused (INVALID_OPTIONS). */
  precision: z.enum(PRECISIONS).default('auto'),
  face: FaceOptionsSchema.default(FaceOptionsSchema.parse({})),
  output: z
    .object({
      format: z.enum(OUTPUT_FORMATS).default('auto'),
      /** 1–100 for jpeg/webp. */
      quality: z.number().int().min(1).max(100).default(92),
      /** Carry EXIF and ICC to the output. */
      keepMetadata: z.boolean().default(false),
    })
    .default({ format: 'auto', quality: 92, keepMetadata: false }),
});
export type EnhanceOptions = z.infer<typeof EnhanceOptionsSchema>;
export type EnhanceOptionsInput = z.input<typeof EnhanceOptionsSchema>;

const BoxSchema = z.tuple([z.number(), z.number(), z.number(), z.number()]);
const NonNegativeInt = z.number().int().min(0);

/** What the face stage reports: the engine returns it and the task result stores it. */
export const FaceReportSchema = z.object({
  detected: NonNegativeInt,
  restored: NonNegativeInt,
  skipped: z.array(z.object({ reason: z.string(), box: BoxSchema })).default([]),
  /** Why faces were not restored (no model installed…), in words a user can act on. */
  notice: z.string().optional(),
  model: z.string().optional(),
});
export type FaceReport = z.infer<typeof FaceReportSchema>;
