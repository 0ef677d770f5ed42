import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename } from 'node:path';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { InferenceSession } from 'onnxruntime-node';
import * as ort from 'onnxruntime-node';
import type { FaceTemplate } from './alignment.ts';

/** Session settings a restorer file is opened with; structurally the engine's RuntimeConfig. */
export interface RestorerRuntime {
  executionProviders?: readonly string[];
  intraOpThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/**
 * A face restorer checked against the face contract: [N,3,S,S] RGB in [-1,1] → same, where S, the face
 * size, is the restorer's own (GPEN-BFR 256…2048, GFPGAN/CodeFormer/RestoreFormer++ 512).
 */
export interface Restorer {
  /** What the report names: the file name, or the id given for a ready session. */
  id: string;
  session: InferenceSession;
  /** Side of the aligned crop it takes and returns, read from the session's input shape. */
  faceSize: number;
  /** The alignment template its crops are cut with (scaled to `faceSize`). */
  template: FaceTemplate;
  inputName: string;
  outputName: string;
  /** CodeFormer-style fidelity weight input, when the model has one. */
  fidelity?: { name: string; type: 'float32' | 'float64'; dims: number[] };
  /** Faces per run: > 1 only when the batch dimension is dynamic. */
  maxBatch: number;
  /**
   * The fp32 model behind an fp16 copy: opened on first need, when the copy's output holds NaN/Inf
   * (fp16 overflow), and used for that run and every later one.
   */
  fallback?: () => Promise<Restorer>;
  /** Set once `fallback` has taken over. */
  fellBack?: boolean;
}

/** How a restorer is opened. */
export interface RestorerLoadOptions {
  fallback?: () => Promise<Restorer>;
  /**
   * The face size its manifest entry records: checked against the session's input shape, and the size
   * used when the file leaves its spatial dimensions dynamic. Absent for a file given by path.
   */
  faceSize?: number;
  /** Its manifest entry's alignment template; `ffhq` (GFPGAN's) when absent. */
  template?: FaceTemplate;
}

/** Smallest face crop accepted: below this the feathered mask has no room (GPEN's smallest is 256). */
const MIN_FACE_SIZE = 16;

/** Enough to amortise per-run overhead; GFPGAN activations for 4 faces stay well under 2 GB. */
const MAX_BATCH = 4;

type Dim = number | string;

function isDynamic(d: Dim | undefined): boolean {
  return typeof d === 'string' || (typeof d === 'number' && d < 0);
}

/**
 * [1|N, 3, S, S]: whether the batch is dynamic and S (undefined when the file leaves it dynamic);
 * undefined when the shape does not fit (not 4-D, not 3 channels, not square).
 */
function faceTensorShape(shape: readonly Dim[]): { dynamicBatch: boolean; size: number | undefined } | undefined {
  if (shape.length !== 4) return undefined;
  const [n, c, h, w] = shape;
  if (!(n === 1 || isDynamic(n)) || c !== 3) return undefined;
  const side = (d: Dim | undefined) => (typeof d === 'number' && d > 0 ? d : isDynamic(d) ? undefined : Number.NaN);
  const [sh, sw] = [side(h), side(w)];
  if (Number.isNaN(sh) || Number.isNaN(sw)) return undefined;
  if (sh !== undefined && sw !== undefined && sh !== sw) return undefined;
  return { dynamicBatch: isDynamic(n), size: sh ?? sw };
}

function describe(metas: readonly InferenceSession.ValueMetadata[]): string {
  return metas
    .map((m) => (m.isTensor ? `${m.name}: ${m.type}[${m.shape.join(',')}]` : `${m.name}: non-tensor`))
    .join('; ');
}

/**
 * Checks a session against the face contract: one float32 image input [1|N,3,S,S], optionally one
 * scalar-ish float fidelity input (CodeFormer's `weight`), and an output of the same image shape. S is
 * read from the input and must match the manifest's `expected.faceSize` when there is one.
 */
export function validateRestorer(
  session: InferenceSession,
  id: string,
  expected: Pick<RestorerLoadOptions, 'faceSize' | 'template'> = {},
): Restorer {
  const invalid = (why: string) =>
    new PhotoEnhanceError('MODEL_INVALID', `Face model "${id}" does not fit the face restorer contract: ${why}`, {
      details: { model: id, inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) },
    });
  let image: { name: string; dynamicBatch: boolean; size: number | undefined } | undefined;
  let fidelity: Restorer['fidelity'];
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) throw invalid(`input "${meta.name}" is not a tensor`);
    const face = meta.type === 'float32' ? faceTensorShape(meta.shape) : undefined;
    if (face && !image) {
      image = { name: meta.name, ...face };
      continue;
    }
    const scalarish = meta.shape.length <= 2 && meta.shape.every((d) => d === 1 || isDynamic(d));
    if (!fidelity && scalarish && (meta.type === 'float32' || meta.type === 'float64')) {
      fidelity = { name: meta.name, type: meta.type, dims: meta.shape.map(() => 1) };
      continue;
    }
    throw invalid(`unexpected input "${meta.name}" (${meta.type}[${meta.shape.join(',')}])`);
  }
  if (!image) throw invalid('no float32 [1|N,3,S,S] image input');
  if (image.size !== undefined && expected.faceSize !== undefined && image.size !== expected.faceSize)
    throw invalid(
      `its input is ${image.size}×${image.size} but its manifest entry says ${expected.faceSize}×${expected.faceSize}`,
    );
  const faceSize = image.size ?? expected.faceSize;
  if (faceSize === undefined)
    throw invalid(
      'the input leaves the face size dynamic and no manifest entry gives it (export it with a fixed size)',
    );
  if (!Number.isInteger(faceSize) || faceSize < MIN_FACE_SIZE)
    throw invalid(`face size ${faceSize} is below the smallest supported (${MIN_FACE_SIZE})`);
  const output = session.outputMetadata.find((m) => {
    const shape = m.isTensor && m.type === 'float32' ? faceTensorShape(m.shape) : undefined;
    return shape !== undefined && (shape.size === undefined || shape.size === faceSize);
  });
  if (!output) throw invalid(`no float32 [1|N,3,${faceSize},${faceSize}] output`);
  const outputBatchDynamic = output.isTensor && isDynamic(output.shape[0]);
  return {
    id,
    session,
    faceSize,
    template: expected.template ?? 'ffhq',
    inputName: image.name,
    outputName: output.name,
    ...(fidelity ? { fidelity } : {}),
    maxBatch: image.dynamicBatch && outputBatchDynamic ? MAX_BATCH : 1,
  };
}

async function createSession(path: string, runtime: RestorerRuntime): Promise<InferenceSession> {
  const base: InferenceSession.SessionOptions = {
    logSeverityLevel: 3,
    // As the session registry opens restorers (GetOptions.memoryPattern): −0.55 GiB peak RSS at GFPGAN size.
    enableMemPattern: false,
    ...(runtime.intraOpThreads ? { intraOpNumThreads: runtime.intraOpThreads } : {}),
    ...(runtime.graphOptimizationLevel ? { graphOptimizationLevel: runtime.graphOptimizationLevel } : {}),
  };
  const providers = runtime.executionProviders?.length ? [...runtime.executionProviders] : ['cpu'];
  try {
    return await ort.InferenceSession.create(path, { ...base, executionProviders: providers });
  } catch (err) {
    // A broken accelerator setup degrades to CPU rather than losing face restoration.
    if (providers.length === 1 && providers[0] === 'cpu') throw err;
    return await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
  }
}

/**
 * Opens (or adopts) a restorer and validates it at load, so a wrong file fails before any photo is
 * processed. Accepts a path or an already-created session (from the session registry).
 */
export async function loadRestorer(
  pathOrSession: string | InferenceSession,
  runtime: RestorerRuntime = {},
  id?: string,
  load: RestorerLoadOptions = {},
): Promise<Restorer> {
  const withFallback = (r: Restorer): Restorer => (load.fallback ? { ...r, fallback: load.fallback } : r);
  if (typeof pathOrSession !== 'string')
    return withFallback(validateRestorer(pathOrSession, id ?? 'face-restorer', load));
  await assertFaceModelFile(pathOrSession);
  let session: InferenceSession;
  try {
    session = await createSession(pathOrSession, runtime);
  } catch (err) {
    throw new PhotoEnhanceError(
      'MODEL_INVALID',
      `Face model ${pathOrSession} could not be loaded: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
        details: { path: pathOrSession },
      },
    );
  }
  return withFallback(validateRestorer(session, id ?? basename(pathOrSession), load));
}

/**
 * A face model file the user named (CLI `--face-model path`) must be there and readable: the one check
 * both the engine's model resolution and `loadRestorer` make. Not there is permanent until they install it.
 */
export async function assertFaceModelFile(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw new PhotoEnhanceError('MODEL_NOT_READY', `Face model file ${path} is missing or unreadable`, {
      cause: err,
      retryable: false,
      details: { path },
    });
  }
}

async function runOnce(restorer: Restorer, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor | undefined> {
  try {
    return (await restorer.session.run(feeds))[restorer.outputName];
  } catch (err) {
    const oom = /alloc|memory/i.test(String(err));
    throw new PhotoEnhanceError(
      oom ? 'OUT_OF_MEMORY' : 'INTERNAL',
      `Face restoration failed: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

function allFinite(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return false;
  return true;
}

/** Values of one size × size face, planar RGB. */
export function faceValues(size: number): number {
  return 3 * size * size;
}

/**
 * Runs the restorer on up to maxBatch aligned faces (planar RGB [0,1], faceSize²) and returns restored
 * faces in the same form. `fidelity` goes to models that take it (0 = quality, 1 = identity).
 */
export async function runRestorer(
  restorer: Restorer,
  faces: readonly Float32Array[],
  fidelity: number,
): Promise<Float32Array[]> {
  const values = faceValues(restorer.faceSize);
  const batch = new Float32Array(faces.length * values);
  for (let f = 0; f < faces.length; f++) batch.set(faces[f]!.subarray(0, values), f * values);
  return runRestorerBatch(restorer, batch, faces.length, fidelity);
}

/**
 * The same on `count` faces laid out one after another in `batch` (the crops are written there
 * directly, so nothing is copied): `batch` is rescaled to the model's [-1, 1] in place and becomes the
 * input tensor. The restored faces are views into the model's output, mapped back to [0, 1] in place.
 */
export async function runRestorerBatch(
  restorer: Restorer,
  batch: Float32Array,
  count: number,
  fidelity: number,
): Promise<Float32Array[]> {
  const n = count;
  const side = restorer.faceSize;
  const size = faceValues(side);
  const total = n * size;
  for (let i = 0; i < total; i++) batch[i] = batch[i]! * 2 - 1;
  const feeds: Record<string, ort.Tensor> = {
    [restorer.inputName]: new ort.Tensor('float32', batch.subarray(0, total), [n, 3, side, side]),
  };
  if (restorer.fidelity) {
    const { name, type, dims } = restorer.fidelity;
    feeds[name] =
      type === 'float64'
        ? new ort.Tensor('float64', Float64Array.of(fidelity), dims)
        : new ort.Tensor('float32', Float32Array.of(fidelity), dims);
  }
  let output = await runOnce(restorer, feeds);
  if (restorer.fallback && !restorer.fellBack && output && !allFinite(output.data as Float32Array)) {
    // fp16 overflowed (NaN/Inf): this run and every later one go to the fp32 model.
    const fp32 = await restorer.fallback();
    const { [restorer.inputName]: image, ...rest } = feeds;
    Object.assign(restorer, { session: fp32.session, inputName: fp32.inputName, outputName: fp32.outputName });
    restorer.fellBack = true;
    output = await runOnce(restorer, { ...rest, [fp32.inputName]: image! });
  }
  if (!output || output.type !== 'float32' || output.dims.join(',') !== `${n},3,${side},${side}`) {
    throw new PhotoEnhanceError(
      'MODEL_INVALID',
      `Face model "${restorer.id}" returned ${output ? `${output.type}[${output.dims.join(',')}]` : 'nothing'} for ${n} face(s)`,
    );
  }
  const data = output.data as Float32Array;
  for (let i = 0; i < total; i++) {
    const v = (data[i]! + 1) / 2;
    // NaN (a broken export) becomes 0 rather than poisoning the paste.
    data[i] = v >= 0 ? (v <= 1 ? v : 1) : 0;
  }
  return Array.from({ length: n }, (_, f) => data.subarray(f * size, (f + 1) * size));
}
