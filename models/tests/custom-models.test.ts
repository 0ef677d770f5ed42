import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.ts';
import {
  ensureModel,
  floatAttr,
  getModelEntry,
  listModelEntries,
  modelStatus,
  OnnxGraphBuilder,
  registerCustomModel,
  restorerFace,
} from '../src/index.ts';

let dir: string;
const savedEnv = process.env.PHOTOENHANCE_MODEL_DIR;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pe-models-custom-'));
  process.env.PHOTOENHANCE_MODEL_DIR = join(dir, 'cache');
});
afterAll(async () => {
  if (savedEnv === undefined) delete process.env.PHOTOENHANCE_MODEL_DIR;
  else process.env.PHOTOENHANCE_MODEL_DIR = savedEnv;
  await rm(dir, { recursive: true, force: true });
});

/** A real ×2 upscaler: 1×1 conv to 12 channels, then DepthToSpace. */
function upscalerX2(): Uint8Array {
  const weights = Float32Array.from({ length: 12 * 3 }, (_, i) => (i % 3 === Math.floor(i / 12) ? 1 : 0));
  return new OnnxGraphBuilder('x2')
    .input('image', [1, 3, 'h', 'w'])
    .initializer('w', [12, 3, 1, 1], weights)
    .node('Conv', ['image', 'w'], ['c'], { kernel_shape: [1, 1] })
    .node('DepthToSpace', ['c'], ['out'], { blocksize: 2, mode: 'CRD' })
    .output('out', [1, 3, 'h2', 'w2'])
    .toBytes();
}

/** Stands in for a face restorer: [1,3,S,S] → same (S = 512 unless given), a gentle contrast change. */
function restorer512(size: number | string = 512, width: number | string = size): Uint8Array {
  return new OnnxGraphBuilder('r')
    .input('face', [1, 3, size, width])
    .node('LeakyRelu', ['face'], ['restored'], { alpha: floatAttr(0.5) })
    .output('restored', [1, 3, size, width])
    .toBytes();
}

async function writeModel(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** CodeFormer's shape: the image plus a scalar fidelity weight; output = face × weight. */
function restorerWithWeight(): Uint8Array {
  return new OnnxGraphBuilder('cf')
    .input('x', [1, 3, 512, 512])
    .input('weight', [1])
    .node('Mul', ['x', 'weight'], ['y'])
    .output('y', [1, 3, 512, 512])
    .toBytes();
}

describe('custom model registration', () => {
  it('registers an upscaler, measuring its scale, and serves it through ensureModel', async () => {
    const path = await writeModel('my-x2.onnx', upscalerX2());
    const entry = await registerCustomModel(path, { id: 'my-x2', task: 'upscale' });
    expect(entry).toMatchObject({ id: 'my-x2', task: 'upscale', scale: 2, source: { kind: 'custom', path } });
    expect(entry.io.inputs[0]).toMatchObject({ name: 'image', shape: [1, 3, 'height', 'width'] });
    expect(listModelEntries().map((e) => e.id)).toContain('my-x2');
    expect(getModelEntry('my-x2').variants.fp32.file).toBe(path);
    const ready = await ensureModel('my-x2');
    expect(ready.path).toBe(path);
    // the registered file really is the model the registry describes
    const session = await InferenceSession.create(ready.path);
    const out = await session.run({
      image: new Tensor('float32', new Float32Array(3 * 4 * 4).fill(0.25), [1, 3, 4, 4]),
    });
    expect(out.out!.dims).toEqual([1, 3, 8, 8]);
    await session.release();
  });

  it('registers a 512 face restorer through the CLI and lists it as ready', async () => {
    const path = await writeModel('restorer.onnx', restorer512());
    const out: string[] = [];
    const code = await runCli(['--model', path, '--id', 'my-restorer', '--task', 'face-restore'], {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
    });
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('registered my-restorer (face-restore)');
    const registry = JSON.parse(await readFile(join(dir, 'cache', 'custom-models.json'), 'utf8'));
    expect(registry.models.map((m: { id: string }) => m.id).sort()).toEqual(['my-restorer', 'my-x2']);
    expect((await modelStatus()).find((s) => s.id === 'my-restorer')).toMatchObject({
      ready: true,
      task: 'face-restore',
      path,
    });
  });

  it('registers a restorer of another face size (GPEN-BFR-1024) with its size, and a dynamic one as 512', async () => {
    const path = await writeModel('gpen-1024.onnx', restorer512(1024));
    const entry = await registerCustomModel(path, { id: 'my-gpen', task: 'face-restore' });
    expect(restorerFace(entry)).toEqual({ faceSize: 1024, template: 'ffhq' });
    expect((await modelStatus()).find((s) => s.id === 'my-gpen')).toMatchObject({ ready: true, faceSize: 1024 });
    const dynamic = await writeModel('dyn.onnx', restorer512('h', 'w'));
    const dynEntry = await registerCustomModel(dynamic, { id: 'my-dyn', task: 'face-restore' });
    expect(dynEntry.io.inputs[0]!.shape).toEqual([1, 3, 512, 512]);
    const oblong = await writeModel('oblong.onnx', restorer512(512, 256));
    await expect(registerCustomModel(oblong, { id: 'oblong', task: 'face-restore' })).rejects.toThrow(/square/);
  });

  it('refuses files that do not fit the task contract, cannot be loaded, or are missing', async () => {
    const upscaler = await writeModel('up.onnx', upscalerX2());
    await expect(registerCustomModel(upscaler, { id: 'wrong-task', task: 'face-restore' })).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('a 512×512 input gave [1,3,1024,1024]'),
    });
    const garbage = await writeModel('garbage.onnx', 'this is not a protobuf');
    await expect(registerCustomModel(garbage, { id: 'garbage', task: 'upscale' })).rejects.toThrow(
      /onnxruntime cannot load it/,
    );
    await expect(registerCustomModel(join(dir, 'nope.onnx'), { id: 'nope', task: 'upscale' })).rejects.toThrow(
      /no such file/,
    );
    await expect(registerCustomModel(upscaler, { id: 'realesrgan-x4fast', task: 'upscale' })).rejects.toThrow(
      /built-in model id/,
    );
    await expect(registerCustomModel(upscaler, { id: 'Bad Id', task: 'upscale' })).rejects.toThrow();
    expect(listModelEntries().map((e) => e.id)).not.toContain('wrong-task');

    const code = await runCli(['--model', garbage, '--id', 'garbage', '--task', 'upscale'], {
      out: () => {},
      err: () => {},
    });
    expect(code).toBe(1);
  });

  it('notices when a registered file changes afterwards', async () => {
    const path = await writeModel('changing.onnx', upscalerX2());
    await registerCustomModel(path, { id: 'changing', task: 'upscale' });
    await appendFile(path, Buffer.from([0]));
    await expect(ensureModel('changing')).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('sha256 mismatch'),
    });
    expect(existsSync(path)).toBe(true); // the user's file is never deleted
  });
  it('accepts a face restorer with a scalar fidelity-weight input (CodeFormer), refuses a second image input', async () => {
    const path = await writeModel('cf.onnx', restorerWithWeight());
    const entry = await registerCustomModel(path, { id: 'my-codeformer', task: 'face-restore' });
    expect(entry.io.inputs.map((i) => i.name)).toEqual(['x']);
    const twoImages = await writeModel(
      'two.onnx',
      new OnnxGraphBuilder('two')
        .input('a', [1, 3, 512, 512])
        .input('b', [1, 3, 512, 512])
        .node('Add', ['a', 'b'], ['y'])
        .output('y', [1, 3, 512, 512])
        .toBytes(),
    );
    await expect(registerCustomModel(twoImages, { id: 'two', task: 'face-restore' })).rejects.toThrow(
      /at most one scalar/,
    );
  });
});
