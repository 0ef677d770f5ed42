/**
 * User-registered model files (`npm run models -- --model file.onnx --id x --task face-restore`),
 * kept in custom-models.json inside the cache dir. A file is only registered after onnxruntime has
 * loaded it and its inputs/outputs fit the task's contract; it is used in place, pinned by sha256.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { modelDir } from './cache-dir.ts';
import { ModelError } from './errors.ts';
import { sha256File, writeFileAtomic } from './files.ts';
import { loadManifest, type ModelEntry, ModelEntrySchema, type ModelTask, type TensorSpec } from './manifest.ts';

const RegistrySchema = z.object({ version: z.literal(1), models: z.array(ModelEntrySchema) });

export function registryPath(): string {
  return join(modelDir(), 'custom-models.json');
}

export function loadCustomEntries(): ModelEntry[] {
  const path = registryPath();
  if (!existsSync(path)) return [];
  const parsed = RegistrySchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success)
    throw new ModelError('MODEL_INVALID', `${path} is not a valid model registry: ${z.prettifyError(parsed.error)}`);
  return parsed.data.models;
}

export interface RegisterOptions {
  id: string;
  task: ModelTask;
  title?: string;
}

type Metadata = { name: string; isTensor: boolean; type?: string; shape?: ReadonlyArray<number | string> };

export async function registerCustomModel(file: string, opts: RegisterOptions): Promise<ModelEntry> {
  const path = resolve(file);
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new ModelError('MODEL_INVALID', `${file}: no such file`);
  if (loadManifest().models.some((m) => m.id === opts.id)) {
    throw new ModelError('MODEL_INVALID', `"${opts.id}" is a built-in model id; choose another --id`);
  }
  if (opts.task === 'face-detect') {
    throw new ModelError(
      'MODEL_INVALID',
      'custom face detectors are not supported: detector outputs are model-specific (use blazeface-back)',
    );
  }

  const { InferenceSession, Tensor } = await import('onnxruntime-node');
  let session: Awaited<ReturnType<typeof InferenceSession.create>>;
  try {
    session = await InferenceSession.create(path);
  } catch (err) {
    throw new ModelError(
      'MODEL_INVALID',
      `${file}: onnxruntime cannot load it: ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
  try {
    const inputs = session.inputMetadata as readonly Metadata[];
    const outputs = session.outputMetadata as readonly Metadata[];
    const fail = (why: string): never => {
      throw new ModelError(
        'MODEL_INVALID',
        `${file} does not fit the ${opts.task} contract: ${why} (inputs: ${describe(inputs)}; outputs: ${describe(outputs)})`,
      );
    };
    // Face restorers may take one scalar fidelity weight besides the image (CodeFormer's `weight`).
    const images = inputs.filter((m) => m.shape?.length === 4);
    const weights = inputs.filter((m) => m.shape?.length !== 4);
    if (opts.task === 'face-restore') {
      const scalar = (m: Metadata) =>
        m.isTensor &&
        (m.type === 'float32' || m.type === 'float64') &&
        (m.shape ?? []).every((d) => !isFixed(d) || d === 1);
      if (images.length !== 1 || weights.length > 1 || !weights.every(scalar))
        fail('expected one [1,3,S,S] image input and at most one scalar fidelity-weight input');
    } else if (inputs.length !== 1) fail(`expected exactly one input, found ${inputs.length}`);
    if (outputs.length < 1) fail('it has no outputs');
    const input = images[0] ?? inputs[0]!;
    const weightFeeds = Object.fromEntries(
      weights.map((m) => {
        const dims = (m.shape ?? []).map(() => 1);
        const data = m.type === 'float64' ? new Float64Array(1).fill(0.5) : new Float32Array(1).fill(0.5);
        return [m.name, new Tensor(m.type === 'float64' ? 'float64' : 'float32', data, dims)];
      }),
    );
    const output = outputs[0]!;
    for (const m of [input, output]) {
      if (!m.isTensor || m.type !== 'float32') fail(`"${m.name}" must be a float32 tensor`);
      if (m.shape?.length !== 4 || !fits(m.shape[0]!, 1) || !fits(m.shape[1]!, 3))
        fail(`"${m.name}" must be NCHW [1,3,H,W]`);
    }
    let scale: number | undefined;
    let faceSize: number | undefined;
    if (opts.task === 'face-restore') {
      // The face size is the restorer's own (GPEN-BFR 256…2048, GFPGAN 512): read it from the input; a file
      // that leaves it dynamic is taken as GFPGAN-family (the FFHQ template's native 512) and checked on a run.
      const side = [input.shape![2]!, input.shape![3]!, output.shape![2]!, output.shape![3]!].find(isFixed);
      faceSize = typeof side === 'number' ? side : DYNAMIC_FACE_SIZE;
      for (const m of [input, output])
        if (!fits(m.shape![2]!, faceSize) || !fits(m.shape![3]!, faceSize))
          fail(`"${m.name}" must be a square [1,3,S,S] face of one size S (found ${faceSize} elsewhere)`);
      if (![input, output].every((m) => m.shape!.every(isFixed))) {
        // dynamic sizes: only a run shows whether S in gives S out (an upscaler would not)
        const result = await session.run({
          [input.name]: new Tensor('float32', new Float32Array(3 * faceSize * faceSize), [1, 3, faceSize, faceSize]),
          ...weightFeeds,
        });
        const dims = result[output.name]!.dims;
        if (dims.join(',') !== `1,3,${faceSize},${faceSize}`)
          fail(
            `"${output.name}" must be [1,3,${faceSize},${faceSize}], a ${faceSize}×${faceSize} input gave [${dims.join(',')}]`,
          );
      }
    } else {
      // the scale is not in the metadata when sizes are dynamic: measure it on a tiny input
      const h = isFixed(input.shape![2]!) ? (input.shape![2] as number) : 32;
      const w = isFixed(input.shape![3]!) ? (input.shape![3] as number) : 32;
      const result = await session.run({
        [input.name]: new Tensor('float32', new Float32Array(3 * h * w).fill(0.5), [1, 3, h, w]),
      });
      const dims = result[output.name]!.dims;
      scale = dims[2]! / h;
      if (dims[1] !== 3 || !Number.isInteger(scale) || scale < 1 || dims[3]! / w !== scale)
        fail(`a ${h}×${w} input gave output dims [${dims.join(',')}], not an integer upscale of [1,3,${h},${w}]`);
    }
    const spec = (m: Metadata, range: [number, number]): TensorSpec => ({
      name: m.name,
      // A restorer's spatial sides are recorded as the size it was checked at: the engine reads them back.
      shape: (m.shape ?? []).map((d, i) =>
        isFixed(d) ? (d as number) : faceSize !== undefined && i >= 2 ? faceSize : ['n', 'c', 'height', 'width'][i]!,
      ),
      layout: 'NCHW',
      dtype: 'float32',
      color: 'RGB',
      range,
    });
    const range: [number, number] = opts.task === 'face-restore' ? [-1, 1] : [0, 1];
    const entry = ModelEntrySchema.parse({
      id: opts.id,
      task: opts.task,
      title: opts.title ?? `Custom ${opts.task} model (${path})`,
      source: { kind: 'custom', path, registeredAt: new Date().toISOString() },
      licence: { name: 'user-supplied', notes: `registered from ${path}; its licence is the user's responsibility` },
      ...(scale === undefined ? {} : { scale }),
      variants: { fp32: { file: path, sha256: await sha256File(path), bytes: info.size } },
      io: { inputs: [spec(input, range)], outputs: [spec(output, range)] },
    });
    const others = loadCustomEntries().filter((e) => e.id !== entry.id);
    await mkdir(modelDir(), { recursive: true });
    await writeFileAtomic(
      registryPath(),
      new TextEncoder().encode(`${JSON.stringify({ version: 1, models: [...others, entry] }, null, 2)}\n`),
    );
    return entry;
  } finally {
    await session.release();
  }
}

/** Face size assumed for a restorer file whose spatial dimensions are dynamic (GFPGAN-family exports). */
const DYNAMIC_FACE_SIZE = 512;

function isFixed(d: number | string): boolean {
  return typeof d === 'number' && d > 0;
}

/** A dynamic dimension (symbolic or -1) fits any size. */
function fits(d: number | string, want: number): boolean {
  return !isFixed(d) || d === want;
}

function describe(ms: readonly Metadata[]): string {
  return ms.map((m) => `${m.name}${m.isTensor ? `:${m.type}[${(m.shape ?? []).join(',')}]` : ''}`).join(', ') || 'none';
}
