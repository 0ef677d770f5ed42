import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ENGINE_STAGES,
  type EngineStage,
  type EnhanceOptions,
  type EnhanceOptionsInput,
  EnhanceOptionsSchema,
  type FaceReport,
  isPhotoEnhanceError,
  type JobMemoryInput,
  PhotoEnhanceError,
  throwIfAborted,
} from '@photoenhance/contracts';
import type { PlanarImage } from '@photoenhance/image';
import {
  checkOutputSize,
  DEFAULT_LIMITS,
  decodeImage,
  encodeInterleaved,
  type ImageLimits,
  type InterleavedImage,
  interleavedToPlanar,
  probeImage,
  resizePlanar,
  resolveOutputFormat,
  scaledSize,
} from '@photoenhance/image';
import {
  constantWeightCopy,
  ensureModel,
  getModelEntry,
  isModelError,
  type ModelVariant,
  restorerFace,
  variantAvailability,
} from '@photoenhance/models';
import {
  assertFaceModelFile,
  type DetectedFace,
  detectFaces,
  loadRestorer,
  type Restorer,
  type RestorerLoadOptions,
  restoreFaces,
} from '../face/index.ts';
import {
  createIdleCache,
  createSessionRegistry,
  type ModelState,
  type RuntimeConfig,
  type SessionRegistry,
} from '../runtime/index.ts';
import {
  createOutputAssembler,
  integerFaceCanvas,
  planUpscale,
  upscaleTiles,
  writePlanarRgb,
  writeResizedAlpha,
} from '../upscale/index.ts';
import { admitJob, type MemoryBudgetConfig } from './memory-admission.ts';
import type { EnhanceResult, FrameContext, FrameResult, RgbFrame, RunContext } from './types.ts';

/** What admission needs to know about a job beyond its size and options (from the probe, before decode). */
type JobFacts = Pick<JobMemoryInput, 'alpha' | 'bitDepth' | 'fileBytes' | 'outputFormat'>;

export interface EngineLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
}

export interface EngineConfig {
  runtime: RuntimeConfig;
  limits?: Partial<ImageLimits>;
  log?: EngineLogger;
  /** Restorer sessions unused this long are released (MODEL_IDLE_SECONDS); 0 or unset = kept. */
  modelIdleSeconds?: number;
  /**
   * Open restorers with their StyleGAN2 modulated convolutions rewritten to constant weights (exact;
   * models/src/onnx/modulated-conv.ts), from a copy made once in the model cache. Default on: ≥ 10 % less
   * work per face on CPU (bench/RESULTS.md, "Face restoration at real scale"); false opens files as exported.
   */
  constantWeightRestorers?: boolean;
  /**
   * Let `face.model` name an ONNX file instead of a registered id. The CLI's operator may; a worker must not,
   * since its options come from HTTP clients (a client must never make a worker open a path of its choosing).
   */
  allowModelPaths?: boolean;
  /** Memory admission: a job whose estimate exceeds the budget fails with MEMORY_BUDGET_EXCEEDED before it runs. */
  memory?: MemoryBudgetConfig;
}

/** A custom model file (CLI --face-model path) rather than a manifest id: how the engine tells them apart. */
export function looksLikeModelPath(model: string): boolean {
  return model.includes('/') || model.includes('\\') || model.endsWith('.onnx');
}

export interface EngineReadiness {
  ready: boolean;
  provider: string;
  models: Record<string, ModelState>;
}

export interface Engine {
  /** Loads and warms the models a default request needs, so the first job is not slow. */
  warmUp(options?: EnhanceOptionsInput): Promise<void>;
  readiness(): EngineReadiness;
  enhance(input: Buffer, options?: EnhanceOptionsInput, ctx?: RunContext): Promise<EnhanceResult>;
  /**
   * One raw RGB frame through the same stages as a photo (no file decode/encode): the video path. Faces
   * come from `ctx.faces` when given (tracked and smoothed by the caller), else are detected on the frame.
   */
  enhanceFrame(frame: RgbFrame, options?: EnhanceOptionsInput, ctx?: FrameContext): Promise<FrameResult>;
  /** The faces BlazeFace finds on one frame (original pixels), for a caller that tracks them over time. */
  detectFrameFaces(frame: RgbFrame, options?: EnhanceOptionsInput): Promise<DetectedFace[]>;
  close(): Promise<void>;
}

export const DETECTOR_MODEL = 'blazeface-back';
const MODEL_FACTOR = 4;
/** ≈ 0.25 MP: where x4plus still finishes in about half a minute on a 2-core CPU. */
const MEDIUM_MAX_PIXELS_CPU = 512 * 512;

/** Relative share of the whole job each stage gets in the progress figure. */
const STAGE_WEIGHTS: Record<EngineStage, number> = {
  decode: 0.04,
  detect: 0.04,
  upscale: 0.78,
  restore: 0.08,
  resize: 0.03,
  encode: 0.03,
};
/** Where each stage starts in the overall 0–1 progress: the weights of the stages before it, in pipeline order. */
const STAGE_START = Object.fromEntries(
  ENGINE_STAGES.map((stage, i) => [stage, ENGINE_STAGES.slice(0, i).reduce((sum, s) => sum + STAGE_WEIGHTS[s], 0)]),
) as Record<EngineStage, number>;

/**
 * Picks the Real-ESRGAN variant for a quality level. 'auto' follows the hardware: x4plus is ~15× the
 * FLOPs of x4fast, worth it on a GPU, minutes per photo on a CPU.
 */
export function upscaleModelFor(
  options: Pick<EnhanceOptions, 'quality' | 'upscaleModel'>,
  provider: string,
  inputPixels: number,
): string {
  if (options.upscaleModel) return options.upscaleModel;
  const gpu = provider !== 'cpu';
  switch (options.quality) {
    case 'fast':
      return 'realesrgan-x4fast';
    case 'high':
      return 'realesrgan-x4plus';
    case 'medium':
      return gpu || inputPixels <= MEDIUM_MAX_PIXELS_CPU ? 'realesrgan-x4plus' : 'realesrgan-x4fast';
    default:
      return gpu ? 'realesrgan-x4plus' : 'realesrgan-x4fast';
  }
}

/**
 * The upscaler variant for a precision request. 'auto': int8 on the CPU provider when the model ships
 * one (it passed the fidelity floor against fp32), fp16 on GPU providers when it has one, else fp32.
 * An explicit precision the model does not offer is a client error naming the reason.
 */
export function upscaleVariantFor(
  modelId: string,
  precision: EnhanceOptions['precision'],
  provider: string,
): ModelVariant {
  let entry: ReturnType<typeof getModelEntry>;
  try {
    entry = getModelEntry(modelId);
  } catch (err) {
    throw asEngineError(err);
  }
  if (precision === 'auto') {
    const preferred: ModelVariant = provider === 'cpu' ? 'int8' : 'fp16';
    return variantAvailability(entry, preferred).available ? preferred : 'fp32';
  }
  const availability = variantAvailability(entry, precision);
  if (!availability.available) {
    throw new PhotoEnhanceError('INVALID_OPTIONS', `precision ${precision} is not available: ${availability.reason}`);
  }
  return precision;
}

/** `id@variant`: the session-registry key of a model variant, and how results name the upscaler they used. */
export function modelRef(id: string, variant: ModelVariant): string {
  return `${id}@${variant}`;
}

function parseModelRef(ref: string): { id: string; variant: ModelVariant } {
  const at = ref.lastIndexOf('@');
  if (at < 0) return { id: ref, variant: 'fp32' };
  return { id: ref.slice(0, at), variant: ref.slice(at + 1) as ModelVariant };
}

/** The models package has its own error type (it must not depend on core); give it the project's codes. */
function asEngineError(err: unknown): unknown {
  if (!isModelError(err)) return err;
  if (err.code === 'MODEL_UNKNOWN') return new PhotoEnhanceError('INVALID_OPTIONS', err.message, { cause: err });
  // A model that cannot be prepared now (registry unreachable) may be preparable later: retryable.
  if (err.code === 'MODEL_NOT_READY') return new PhotoEnhanceError('MODEL_NOT_READY', err.message, { cause: err });
  return new PhotoEnhanceError('MODEL_INVALID', err.message, { cause: err });
}

function isRestorer(id: string): boolean {
  if (looksLikeModelPath(id)) return true;
  try {
    return getModelEntry(id).task === 'face-restore';
  } catch {
    return false;
  }
}

/** Generated models (random weights) exist for benchmarks and tests; a result made with one must say so. */
function isStandIn(model: string): boolean {
  try {
    return getModelEntry(model).source.kind === 'generated';
  } catch {
    return false;
  }
}

/** The file a restorer opens from: its constant-weight copy, or the file itself when there is none. */
async function restorerFile(path: string, constantWeights: boolean, log?: EngineLogger): Promise<string> {
  if (!constantWeights) return path;
  try {
    return (await constantWeightCopy(path)).path;
  } catch (err) {
    // A cache that cannot be written costs speed, not the face.
    log?.warn(
      { path, err: err instanceof Error ? err.message : String(err) },
      'constant-weight copy failed; as exported',
    );
    return path;
  }
}

async function resolveModel(ref: string, constantWeights: boolean, log?: EngineLogger): Promise<{ path: string }> {
  if (looksLikeModelPath(ref)) {
    await assertFaceModelFile(ref);
    return { path: await restorerFile(ref, constantWeights, log) };
  }
  const { id, variant } = parseModelRef(ref);
  let path: string;
  try {
    ({ path } = await ensureModel(id, { variant, log: (msg) => log?.info({ model: ref }, msg) }));
  } catch (err) {
    throw asEngineError(err);
  }
  return { path: isRestorer(id) ? await restorerFile(path, constantWeights, log) : path };
}

export function createEngine(config: EngineConfig): Engine {
  const limits: ImageLimits = { ...DEFAULT_LIMITS, ...config.limits };
  const log = config.log;
  const registry: SessionRegistry = createSessionRegistry(config.runtime, {
    resolveModel: (id) => resolveModel(id, config.constantWeightRestorers ?? true, log),
    ...(log ? { log } : {}),
  });
  type RestorerSlot = Restorer | { missing: string };

  /** A restorer by manifest id or file path; a missing model is a notice, never an error. */
  async function loadRestorerFor(model: string): Promise<RestorerSlot> {
    const custom = looksLikeModelPath(model);
    let fp16Variant = false;
    // The face size and template its manifest entry records, checked against the session; none for a path.
    let face: RestorerLoadOptions = {};
    if (!custom) {
      try {
        const entry = getModelEntry(model); // unknown ids are a client error
        fp16Variant = entry.variants.fp16 !== undefined;
        const { faceSize, template } = restorerFace(entry);
        face = { template, ...(faceSize === undefined ? {} : { faceSize }) };
      } catch (err) {
        throw asEngineError(err);
      }
    }
    const name = custom ? basename(model) : model;
    // Through the registry like every model: readiness reports it, close() and the idle timer release it.
    const open = async (id: string) =>
      loadRestorer((await registry.get(id, { optional: !custom, memoryPattern: false })).session, {}, name, face);
    try {
      // On an accelerator, the fp16 copy when there is one; the fp32 model takes over if it overflows.
      if (fp16Variant && (await registry.resolveProvider()) !== 'cpu') {
        try {
          let fp32: Promise<Restorer> | undefined;
          const fallback = () => {
            log?.warn({ model }, 'fp16 restorer produced NaN/Inf: falling back to fp32');
            fp32 ??= open(model);
            return fp32;
          };
          return { ...(await open(modelRef(model, 'fp16'))), fallback };
        } catch (err) {
          log?.warn({ model, err: err instanceof Error ? err.message : String(err) }, 'fp16 restorer unusable; fp32');
        }
      }
      return await open(model);
    } catch (err) {
      // The models package's message already says how to install it.
      if (!custom && isPhotoEnhanceError(err) && err.code === 'MODEL_NOT_READY') {
        return { missing: `Faces were detected but NOT restored: ${err.message}` };
      }
      throw err;
    }
  }
  const restorers = createIdleCache<RestorerSlot>({
    load: loadRestorerFor,
    release: async (_slot, model) => {
      await registry.release(model);
      await registry.release(modelRef(model, 'fp16'));
    },
    idleMs: (config.modelIdleSeconds ?? 0) * 1000,
    onRelease: (model) => log?.info({ model }, 'restorer released after MODEL_IDLE_SECONDS without use'),
  });

  function parseOptions(rawOptions: EnhanceOptionsInput): EnhanceOptions {
    const parsed = EnhanceOptionsSchema.safeParse(rawOptions);
    if (!parsed.success) {
      throw new PhotoEnhanceError(
        'INVALID_OPTIONS',
        `Invalid options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        {
          cause: parsed.error,
        },
      );
    }
    const options = parsed.data;
    if (!config.allowModelPaths && looksLikeModelPath(options.face.model)) {
      throw new PhotoEnhanceError(
        'INVALID_OPTIONS',
        `face.model must be a registered model id, not a file path: ${options.face.model.slice(0, 100)}`,
      );
    }
    return options;
  }

  /** Progress and per-stage timings of one run: the stage weights turn stage-local fractions into 0–1. */
  function createRun(ctx: RunContext) {
    const { signal, onProgress } = ctx;
    const timings: Partial<Record<EngineStage, number>> = {};
    let current: EngineStage = 'decode';
    let t0 = performance.now();
    const report = (stage: EngineStage, fraction: number, done?: number, total?: number) => {
      onProgress?.({
        stage,
        progress: Math.min(1, STAGE_START[stage] + STAGE_WEIGHTS[stage] * fraction),
        ...(done === undefined ? {} : { done, total }),
      });
    };
    return {
      signal,
      timings,
      report,
      begin(stage: EngineStage) {
        throwIfAborted(signal);
        current = stage;
        t0 = performance.now();
        report(stage, 0);
      },
      end() {
        timings[current] = (timings[current] ?? 0) + (performance.now() - t0) / 1000;
        report(current, 1);
      },
    };
  }
  type Run = ReturnType<typeof createRun>;

  async function findFaces(rgb: PlanarImage, options: EnhanceOptions, models: string[]) {
    const detector = await registry.get(DETECTOR_MODEL);
    models.push(DETECTOR_MODEL);
    return detectFaces(detector.session, rgb, options.face);
  }

  /** The memory estimate's inputs and the check (memory-admission.ts); a no-op without a configured budget. */
  async function admit(width: number, height: number, options: EnhanceOptions, faces: number, facts: JobFacts) {
    if (!config.memory) return;
    const provider = await registry.resolveProvider();
    admitJob(config.memory, {
      width,
      height,
      scale: options.scale,
      upscaleModel: options.backgroundUpsampler ? upscaleModelFor(options, provider, width * height) : null,
      faces,
      tileSize: options.tileSize,
      tilePad: options.tilePad,
      keepMetadata: options.output.keepMetadata,
      ...facts,
    });
  }

  /**
   * The stages between decode and encode, shared by photos and video frames: detect (unless the caller
   * brings its faces) → upscale → restore → resize. Returns the result at the requested output size as
   * integers (RGB, or RGBA with alpha; 8 bits, or 16 for a 16-bit source). The ×4 upscale never exists
   * whole: each tile is resized to the requested scale as it comes out of the model (output-assembler.ts),
   * and faces are pasted into the output at its own scale.
   */
  async function enhancePlanar(
    pixels: { rgb: PlanarImage; alpha?: PlanarImage; bitDepth?: 8 | 16; job?: JobFacts },
    options: EnhanceOptions,
    run: Run,
    given?: DetectedFace[],
  ) {
    const { signal, report } = run;
    const { rgb } = pixels;
    const warnings: string[] = [];
    const models: string[] = [];
    const outWidth = Math.max(1, Math.round(rgb.width * options.scale));
    const outHeight = Math.max(1, Math.round(rgb.height * options.scale));

    // Faces are found on the original: BlazeFace wants the real photo, not GAN textures.
    run.begin('detect');
    const faces: FaceReport = { detected: 0, restored: 0, skipped: [] };
    let detected: DetectedFace[] = [];
    if (options.face.enabled) {
      if (given) {
        detected = given;
      } else {
        const found = await findFaces(rgb, options, models);
        detected = found.faces;
        faces.skipped = found.skipped;
      }
      faces.detected = detected.length;
    }
    // Admitted before decode without faces; the restorer's run is counted once there are faces to restore.
    if (detected.length > 0) await admit(rgb.width, rgb.height, options, detected.length, pixels.job ?? {});
    run.end();

    const bitDepth = pixels.bitDepth ?? 8;
    const channels = pixels.alpha ? 4 : 3;
    const samples = outWidth * outHeight * channels;
    const out: InterleavedImage = {
      width: outWidth,
      height: outHeight,
      channels,
      bitDepth,
      data: bitDepth === 16 ? new Uint16Array(samples) : new Uint8Array(samples),
    };

    run.begin('upscale');
    if (options.backgroundUpsampler) {
      // Which provider really loads decides the model for 'auto'/'medium': find out before choosing.
      const provider = await registry.resolveProvider();
      const modelId = upscaleModelFor(options, provider, rgb.width * rgb.height);
      const ref = modelRef(modelId, upscaleVariantFor(modelId, options.precision, provider));
      const session = await registry.get(ref);
      models.push(ref);
      // tileSize 0: the upscaler takes the whole image when it fits its memory cap, else tiles it.
      const upscale = {
        tileSize: options.tileSize,
        tilePad: options.tilePad,
        ...(signal ? { signal } : {}),
        onProgress: (done: number, total: number) => report('upscale', done / total, done, total),
      };
      const assembler = createOutputAssembler({
        sourceWidth: rgb.width,
        sourceHeight: rgb.height,
        modelScale: MODEL_FACTOR,
        tiles: planUpscale(rgb.width, rgb.height, upscale),
        out,
      });
      await upscaleTiles(session, rgb, MODEL_FACTOR, upscale, (data, offset, tile) =>
        assembler.add(data, offset, tile),
      );
      assembler.finish();
    } else {
      writePlanarRgb(await resizePlanar(rgb, outWidth, outHeight), out);
    }
    run.end();

    run.begin('restore');
    if (detected.length > 0) {
      await restorers.use(options.face.model, async (restorer) => {
        const usable = 'missing' in restorer ? undefined : restorer;
        const restored = await restoreFaces({
          original: rgb,
          upscaled: integerFaceCanvas(out),
          factor: options.scale,
          faces: detected,
          ...(usable ? { restorer: usable } : {}),
          options: options.face,
          ...(signal ? { signal } : {}),
          onProgress: (done, total) => report('restore', done / total, done, total),
        });
        Object.assign(faces, {
          ...restored.report,
          detected: faces.detected,
          skipped: [...faces.skipped, ...restored.report.skipped],
        });
        // Say which model is missing and how to get it, rather than the stage's generic notice.
        if ('missing' in restorer) faces.notice = restorer.missing;
        if (usable) {
          models.push(options.face.model);
          if (usable.fellBack) warnings.push(`Face model ${options.face.model}: fp16 overflowed, ran in fp32.`);
          if (isStandIn(options.face.model))
            warnings.push(
              `Face model ${options.face.model} is a stand-in with random weights: restored faces are noise, not faces.`,
            );
        }
      });
    }
    run.end();

    // The colour was resized tile by tile during the upscale; what is left is the alpha plane.
    run.begin('resize');
    if (pixels.alpha) await writeResizedAlpha(pixels.alpha, out);
    run.end();

    // Known only once a session has loaded: say so when the preferred provider (e.g. cuda) fell back.
    const requested = config.runtime.executionProviders[0] ?? 'cpu';
    if (models.length > 0 && requested !== registry.activeProvider()) {
      warnings.push(`Execution provider "${requested}" is not available here; ran on ${registry.activeProvider()}.`);
    }
    return { out, faces, models, warnings };
  }

  async function enhance(
    input: Buffer,
    rawOptions: EnhanceOptionsInput = {},
    ctx: RunContext = {},
  ): Promise<EnhanceResult> {
    const options = parseOptions(rawOptions);
    const run = createRun(ctx);

    run.begin('decode');
    // Header-only checks first: an oversized request is refused before any pixel is decoded.
    const probe = await probeImage(input, limits);
    checkOutputSize(probe.width, probe.height, options.scale, limits);
    const out = scaledSize(probe.width, probe.height, options.scale);
    const job: JobFacts = {
      alpha: probe.hasAlpha,
      bitDepth: probe.bitDepth,
      fileBytes: input.length,
      outputFormat: resolveOutputFormat(options.output.format, probe.format, probe.hasAlpha, out.width, out.height),
    };
    await admit(probe.width, probe.height, options, 0, job);
    const decoded = await decodeImage(input, limits);
    run.end();

    const result = await enhancePlanar(
      { rgb: decoded.rgb, ...(decoded.alpha ? { alpha: decoded.alpha } : {}), bitDepth: decoded.bitDepth, job },
      options,
      run,
    );

    run.begin('encode');
    const encoded = await encodeInterleaved(
      {
        pixels: result.out,
        isGrey: decoded.isGrey,
        sourceFormat: decoded.sourceFormat,
        metadata: decoded.metadata,
      },
      options.output,
    );
    run.end();

    return {
      data: encoded.data,
      format: encoded.format,
      width: encoded.width,
      height: encoded.height,
      input: { format: decoded.sourceFormat, width: decoded.width, height: decoded.height, bytes: input.length },
      faces: result.faces,
      models: result.models,
      timings: run.timings,
      warnings: result.warnings,
    };
  }

  function frameToPlanar(frame: RgbFrame): PlanarImage {
    const { width, height, data } = frame;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
      throw new PhotoEnhanceError('INVALID_INPUT', `A frame must have a positive integer size, got ${width}×${height}`);
    if (data.length !== width * height * 3)
      throw new PhotoEnhanceError(
        'INVALID_INPUT',
        `A ${width}×${height} RGB frame has ${width * height * 3} samples, got ${data.length}`,
      );
    checkOutputSize(width, height, 1, limits);
    return interleavedToPlanar(data, width, height, 3, [0, 1, 2], 255);
  }

  async function enhanceFrame(
    frame: RgbFrame,
    rawOptions: EnhanceOptionsInput = {},
    ctx: FrameContext = {},
  ): Promise<FrameResult> {
    const options = parseOptions(rawOptions);
    const run = createRun(ctx);
    run.begin('decode');
    checkOutputSize(frame.width, frame.height, options.scale, limits);
    // Faces the caller brings are counted here; detected ones once they are found.
    const given = options.face.enabled ? (ctx.faces?.length ?? 0) : 0;
    await admit(frame.width, frame.height, options, given, { fileBytes: frame.data.length });
    const rgb = frameToPlanar(frame);
    run.end();
    const out = await enhancePlanar({ rgb }, options, run, ctx.faces);
    // The output is already 8-bit interleaved RGB: the frame is that buffer.
    run.begin('encode');
    run.end();
    return {
      frame: { width: out.out.width, height: out.out.height, data: out.out.data as Uint8Array },
      faces: out.faces,
      models: out.models,
      timings: run.timings,
      warnings: out.warnings,
    };
  }

  async function detectFrameFaces(frame: RgbFrame, rawOptions: EnhanceOptionsInput = {}): Promise<DetectedFace[]> {
    const options = parseOptions(rawOptions);
    return (await findFaces(frameToPlanar(frame), options, [])).faces;
  }

  return {
    async warmUp(rawOptions = {}) {
      const options = EnhanceOptionsSchema.parse(rawOptions);
      const provider = await registry.resolveProvider();
      const upscaler = upscaleModelFor(options, provider, 0);
      await registry.warmUp(
        modelRef(upscaler, upscaleVariantFor(upscaler, options.precision, provider)),
        [1, 3, 64, 64],
      );
      if (options.face.enabled) await registry.warmUp(DETECTOR_MODEL, [1, 256, 256, 3]);
    },
    readiness() {
      const r = registry.readiness();
      return { ready: r.ready, provider: registry.activeProvider(), models: r.models };
    },
    enhance,
    enhanceFrame,
    detectFrameFaces,
    close: async () => {
      await restorers.close();
      await registry.close();
    },
  };
}
