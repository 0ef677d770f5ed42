import { z } from 'zod';
import { CallbackUrlSchema } from './callback-url/callback-url.ts';
import { PRECISIONS } from './choices.ts';
import { IMAGE_FORMATS, OUTPUT_FORMATS, outputFormatForExtension, REQUESTABLE_OUTPUT_FORMATS } from './formats.ts';
import { type EnhanceOptions, EnhanceOptionsSchema, FaceReportSchema } from './options.ts';
import { ErrorCodeSchema, TaskStatusSchema } from './task.ts';

/** Multipart fields are strings; an empty field counts as "not sent" (HTML forms send empty inputs). */
function formField<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === '' || value === null ? undefined : value), schema.optional());
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];
export const FormBooleanSchema = z.union([
  z.boolean(),
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => TRUE_WORDS.includes(v) || FALSE_WORDS.includes(v), 'must be true or false')
    .transform((v) => TRUE_WORDS.includes(v)),
]);

/**
 * A decimal number as people write it ("2", "1.5", "-1", ".5"): Number() would also take 0x10, 0o7, 0b1, 1e1,
 * Infinity and surrounding blanks, which no client means as a scale or a quality.
 */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
/** `schema` over a form value: decimal text becomes a number, anything else stays as it is and is refused. */
function formNumber<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (typeof v === 'string' && DECIMAL.test(v.trim()) ? Number(v.trim()) : v), schema);
}
const decimal = () => z.number({ error: 'must be a decimal number' });

/** The seed's levels plus ours; `low` is the seed's cheapest level and maps to our `fast`. */
/** `output_format` values: auto, every requestable format and its file extensions (jpg for jpeg). */
export const OUTPUT_FORMAT_FIELD_VALUES = [
  ...new Set([...OUTPUT_FORMATS, ...REQUESTABLE_OUTPUT_FORMATS.flatMap((f) => IMAGE_FORMATS[f].extensions)]),
] as [string, ...string[]];

export const SEED_QUALITY_LEVELS = ['high', 'medium', 'low', 'fast', 'auto'] as const;
const QUALITY_FROM_SEED = { high: 'high', medium: 'medium', low: 'fast', fast: 'fast', auto: 'auto' } as const;

/**
 * Model ids only (manifest ids such as gfpgan-1.4): the engine also accepts file paths, which must never be
 * reachable from a client.
 */
export const ModelIdSchema = z
  .string()
  .trim()
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'must be a model id (letters, digits, . _ -)')
  // The engine reads a name ending in .onnx as a file in its working directory.
  .refine((id) => !id.toLowerCase().endsWith('.onnx'), 'must be a registered model id, not a file name');

/** POST /api/v1/enhance form fields (besides `file`): the seed's tile_size and quality_level, then ours. */
export const EnhanceFormSchema = z.object({
  tile_size: formField(formNumber(decimal().int().min(0).max(4096))),
  quality_level: formField(z.string().trim().toLowerCase().pipe(z.enum(SEED_QUALITY_LEVELS))),
  scale: formField(formNumber(decimal().min(1).max(16))),
  /** Upscaler precision: auto, fp32, fp16, int8 (an int8 variant that failed its fidelity floor is refused). */
  precision: formField(z.string().trim().toLowerCase().pipe(z.enum(PRECISIONS))),
  face: formField(FormBooleanSchema),
  face_model: formField(ModelIdSchema),
  only_center_face: formField(FormBooleanSchema),
  face_blend: formField(formNumber(decimal().min(0).max(1))),
  output_format: formField(
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(OUTPUT_FORMAT_FIELD_VALUES))
      .transform((v) => (v === 'auto' ? v : (outputFormatForExtension(v) ?? v))),
  ),
  output_quality: formField(formNumber(decimal().int().min(1).max(100))),
  keep_metadata: formField(FormBooleanSchema),
  /** Webhook POSTed when the task completes or fails (HMAC-signed; private addresses refused). */
  callback_url: formField(CallbackUrlSchema),
});
export type EnhanceForm = z.output<typeof EnhanceFormSchema>;
export const ENHANCE_FORM_FIELDS = Object.keys(EnhanceFormSchema.shape) as (keyof EnhanceForm)[];

/** Turns validated form fields into engine options; everything not sent keeps the engine default. */
export function enhanceOptionsFromForm(form: EnhanceForm): EnhanceOptions {
  const defaults = EnhanceOptionsSchema.parse({});
  return EnhanceOptionsSchema.parse({
    ...defaults,
    scale: form.scale ?? defaults.scale,
    quality: form.quality_level ? QUALITY_FROM_SEED[form.quality_level] : defaults.quality,
    tileSize: form.tile_size ?? defaults.tileSize,
    precision: form.precision ?? defaults.precision,
    face: {
      ...defaults.face,
      enabled: form.face ?? defaults.face.enabled,
      model: form.face_model ?? defaults.face.model,
      onlyCenterFace: form.only_center_face ?? defaults.face.onlyCenterFace,
      blend: form.face_blend ?? defaults.face.blend,
    },
    output: {
      format: form.output_format ?? defaults.output.format,
      quality: form.output_quality ?? defaults.output.quality,
      keepMetadata: form.keep_metadata ?? defaults.output.keepMetadata,
    },
  });
}

/**
 * Every error body: this API's structured `error` plus FastAPI's `detail` string (the same message), which
 * PhotoEnhanceAI's clients print.
 */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  detail: z.string(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/**
 * Query parameters PhotoEnhanceAI takes its options from (its Python clients send them there, its pages as form
 * fields). A form field of the same name wins over the query parameter.
 */
export const SEED_QUERY_OPTION_FIELDS = ['tile_size', 'quality_level'] as const;

/** Form fields with the seed's query options filled in where the form did not send them (empty counts as not sent). */
export function withSeedQueryOptions(
  fields: Record<string, unknown>,
  query: Record<string, string | undefined>,
): Record<string, unknown> {
  const merged = { ...fields };
  for (const name of SEED_QUERY_OPTION_FIELDS) {
    const fromQuery = query[name];
    if (fromQuery !== undefined && (merged[name] === undefined || merged[name] === '')) merged[name] = fromQuery;
  }
  return merged;
}

/**
 * Timestamps as PhotoEnhanceAI sends them: Unix epoch seconds (float). This API's ISO 8601 form of the same
 * instant moves to `*_at_iso`.
 */
export const EpochSecondsSchema = z.number().nonnegative();
export function epochSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

/** 200 answer to POST /api/v1/enhance: PhotoEnhanceAI's TaskResponse (task_id, status, message, created_at) plus links. */
export const EnhanceAcceptedSchema = z.object({
  task_id: z.string(),
  status: TaskStatusSchema,
  message: z.string(),
  created_at: EpochSecondsSchema,
  created_at_iso: z.string(),
  status_url: z.string(),
  download_url: z.string(),
});
export type EnhanceAccepted = z.infer<typeof EnhanceAcceptedSchema>;

const ImageSummarySchema = z.object({
  filename: z.string(),
  format: z.string(),
  width: z.number(),
  height: z.number(),
  bytes: z.number(),
});

/**
 * GET /api/v1/status/{task_id}: PhotoEnhanceAI's TaskStatus (progress as a fraction 0–1, `error` a string,
 * epoch-second timestamps, `result_url`, `processing_time`; absent values are null as FastAPI sends them), plus
 * this API's richer fields under their own names (`percent` 0–100, `error_code`, `*_at_iso`, stage, result…).
 */
export const TaskStatusResponseSchema = z.object({
  task_id: z.string(),
  batch_id: z.string().optional(),
  status: TaskStatusSchema,
  message: z.string(),
  /** Fraction done, 0.0–1.0 (PhotoEnhanceAI's unit; clients print progress*100). */
  progress: z.number().min(0).max(1),
  /** The same as a percentage, 0–100. */
  percent: z.number().min(0).max(100),
  stage: z.string(),
  /** Download path once completed, else null. */
  result_url: z.string().nullable(),
  /** What went wrong, as text, once failed; else null. */
  error: z.string().nullable(),
  error_code: ErrorCodeSchema.optional(),
  attempts: z.number(),
  created_at: EpochSecondsSchema,
  updated_at: EpochSecondsSchema,
  /** Seconds from the worker's start to the end, once finished; else null. */
  processing_time: z.number().nonnegative().nullable(),
  created_at_iso: z.string(),
  updated_at_iso: z.string(),
  started_at: z.string().optional(),
  completed_at: z.string().optional(),
  /** When a finished task's input, result and record are removed (RETENTION_HOURS after it finished). */
  expires_at: z.string().optional(),
  input: ImageSummarySchema,
  result: ImageSummarySchema.extend({
    download_url: z.string(),
    faces: FaceReportSchema,
    models: z.array(z.string()),
    timings: z.record(z.string(), z.number()),
    warnings: z.array(z.string()),
  }).optional(),
});
export type TaskStatusResponse = z.infer<typeof TaskStatusResponseSchema>;

/** GET /api/v1/download/{task_id}?redirect=false. */
export const DownloadLinkSchema = z.object({
  url: z.string(),
  expires_at: z.string(),
  filename: z.string(),
});
export type DownloadLink = z.infer<typeof DownloadLinkSchema>;

/** DELETE /api/v1/tasks/{task_id}: PhotoEnhanceAI's `{"message": …}` plus what happened to the task. */
export const TaskDeletedSchema = z.object({
  message: z.string(),
  task_id: z.string(),
  status: z.enum(['cancelled', 'deleted']),
});
export type TaskDeleted = z.infer<typeof TaskDeletedSchema>;
