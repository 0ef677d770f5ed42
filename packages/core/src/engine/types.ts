import { z } from 'zod';

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

export const QUALITY_LEVELS = ['fast', 'medium', 'high', 'auto'] as const;
export const OUTPUT_FORMATS = ['auto', 'jpeg', 'png', 'webp'] as const;

export const FaceOptionsSchema = z.object({
  /** Run detection + restoration at all. */
  enabled: z.boolean().default(true),
  /** Restorer: a manifest id (gfpgan-1.4, codeformer…) or a path to a 512-contract ONNX file. */
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

export const ENGINE_STAGES = ['decode', 'detect', 'upscale', 'restore', 'resize', 'encode'] as const;
export type EngineStage = (typeof ENGINE_STAGES)[number];

export interface ProgressEvent {
  stage: EngineStage;
  /** Overall progress 0–1 across all stages. */
  progress: number;
  /** Stage-local detail, e.g. tiles done / total. */
  done?: number;
  total?: number;
}

export interface RunContext {
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

export interface FaceReport {
  detected: number;
  restored: number;
  skipped: { reason: string; box: [number, number, number, number] }[];
  /** Why faces were not restored (no model installed…), in words a user can act on. */
  notice?: string;
  model?: string;
}

export interface EnhanceResult {
  data: Buffer;
  format: 'jpeg' | 'png' | 'webp' | 'tiff';
  width: number;
  height: number;
  input: { format: string; width: number; height: number; bytes: number };
  faces: FaceReport;
  models: string[];
  /** Seconds per stage. */
  timings: Partial<Record<EngineStage, number>>;
  warnings: string[];
}
