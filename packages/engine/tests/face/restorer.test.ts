import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGfpganStandin, constantWeightCopy, OnnxGraphBuilder } from '@photoenhance/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRestorer } from '../../src/face/index.ts';
import { runRestorer } from '../../src/face/restorer.ts';
import { identityRestorerBytes, sessionFrom, solidRedRestorerBytes } from './helpers.ts';

const FACE = 3 * 512 * 512;

describe('loadRestorer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'face-restorer-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens a 512 file, names it after the file and finds no batching in a [1,…] model', async () => {
    const path = join(dir, 'identity.onnx');
    await writeFile(path, identityRestorerBytes(1));
    const restorer = await loadRestorer(path, { executionProviders: ['cpu'], intraOpThreads: 1 });
    expect(restorer.id).toBe('identity.onnx');
    expect(restorer.faceSize).toBe(512);
    expect(restorer.maxBatch).toBe(1);
    expect(restorer.fidelity).toBeUndefined();
  });

  it('batches several faces when the batch dimension is dynamic', async () => {
    const restorer = await loadRestorer(await sessionFrom(identityRestorerBytes('N')));
    expect(restorer.maxBatch).toBeGreaterThan(1);
  });

  it.each([256, 1024, 2048])('reads the face size of a %i restorer from its input shape', async (size) => {
    const restorer = await loadRestorer(await sessionFrom(identityRestorerBytes(1, size)), {}, 'gpen');
    expect(restorer.faceSize).toBe(size);
    expect(restorer.template).toBe('ffhq');
  });

  it('rejects a model whose size is not the one its manifest entry records, naming what it found', async () => {
    const bytes = identityRestorerBytes(1, 256);
    const err = await loadRestorer(await sessionFrom(bytes), {}, 'small.onnx', { faceSize: 512 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'MODEL_INVALID' });
    expect(String((err as Error).message)).toContain('small.onnx');
    expect(String((err as Error).message)).toContain('256×256 but its manifest entry says 512×512');
    expect((err as { details: { inputs: string } }).details.inputs).toContain('256');
  });

  it('takes the face size from the manifest when the file leaves it dynamic, and refuses to guess without one', async () => {
    const bytes = new OnnxGraphBuilder('dynamic')
      .input('input', [1, 3, 'h', 'w'])
      .output('output', [1, 3, 'h', 'w'])
      .node('Identity', ['input'], ['output'])
      .toBytes();
    const sized = await loadRestorer(await sessionFrom(bytes), {}, 'dyn', { faceSize: 1024, template: 'arcface-128' });
    expect([sized.faceSize, sized.template]).toEqual([1024, 'arcface-128']);
    const [out] = await runRestorer(sized, [new Float32Array(3 * 1024 * 1024).fill(0.25)], 0.5);
    expect(out).toHaveLength(3 * 1024 * 1024);
    await expect(loadRestorer(await sessionFrom(bytes), {}, 'dyn')).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('dynamic'),
    });
  });

  it('rejects a non-square face input or one too small to feather', async () => {
    const graph = (h: number, w: number) =>
      new OnnxGraphBuilder('odd')
        .input('input', [1, 3, h, w])
        .output('output', [1, 3, h, w])
        .node('Identity', ['input'], ['output'])
        .toBytes();
    await expect(loadRestorer(await sessionFrom(graph(512, 256)))).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    await expect(loadRestorer(await sessionFrom(graph(8, 8)))).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('smallest'),
    });
  });

  it('rejects a model whose output is not a face image', async () => {
    const bytes = new OnnxGraphBuilder('pool')
      .input('input', [1, 3, 512, 512])
      .output('output', [1, 3, 1, 1])
      .node('GlobalAveragePool', ['input'], ['output'])
      .toBytes();
    await expect(loadRestorer(await sessionFrom(bytes))).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('rejects unexpected extra inputs', async () => {
    const bytes = new OnnxGraphBuilder('two-images')
      .input('a', [1, 3, 512, 512])
      .input('b', [1, 3, 512, 512])
      .output('output', [1, 3, 512, 512])
      .node('Add', ['a', 'b'], ['output'])
      .toBytes();
    await expect(loadRestorer(await sessionFrom(bytes))).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('reports a missing file as a model that is not ready, not as a bad model', async () => {
    await expect(loadRestorer(join(dir, 'absent.onnx'))).rejects.toMatchObject({
      code: 'MODEL_NOT_READY',
      retryable: false,
    });
  });

  it('reports a file that is not ONNX as an invalid model', async () => {
    const path = join(dir, 'garbage.onnx');
    await writeFile(path, 'this is not a protobuf');
    await expect(loadRestorer(path)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });
});

describe('runRestorer', () => {
  it('feeds RGB in [-1,1] and maps the output back to [0,1], clamped', async () => {
    const restorer = await loadRestorer(await sessionFrom(identityRestorerBytes()));
    const face = new Float32Array(FACE);
    for (let i = 0; i < FACE; i++) face[i] = (i % 101) / 100;
    const [out] = await runRestorer(restorer, [face], 0.5);
    let maxErr = 0;
    for (let i = 0; i < FACE; i++) maxErr = Math.max(maxErr, Math.abs(out![i]! - face[i]!));
    expect(maxErr).toBeLessThan(1e-6);

    const red = await loadRestorer(await sessionFrom(solidRedRestorerBytes()));
    const [painted] = await runRestorer(red, [face], 0.5);
    const plane = 512 * 512;
    expect([painted![123], painted![plane + 123], painted![2 * plane + 123]]).toEqual([1, 0, 0]);
  });

  it('runs a batch of faces in one call and keeps their order', async () => {
    const restorer = await loadRestorer(await sessionFrom(identityRestorerBytes('N')));
    const faces = [0.1, 0.5, 0.9].map((v) => new Float32Array(FACE).fill(v));
    const out = await runRestorer(restorer, faces, 0.5);
    expect(out.map((f) => Number(f[1000]!.toFixed(4)))).toEqual([0.1, 0.5, 0.9]);
  });

  it.each([512, 256])('passes the fidelity weight to %i models that take one (CodeFormer-style)', async (size) => {
    // output = input · weight: the weight must arrive for the output to be scaled.
    const bytes = new OnnxGraphBuilder('weighted')
      .input('input', [1, 3, size, size])
      .input('weight', [1])
      .output('output', [1, 3, size, size])
      .node('Mul', ['input', 'weight'], ['output'])
      .toBytes();
    const restorer = await loadRestorer(await sessionFrom(bytes));
    expect(restorer.fidelity?.name).toBe('weight');
    expect(restorer.faceSize).toBe(size);
    const face = new Float32Array(3 * size * size).fill(1); // model sees +1
    for (const w of [0.25, 0.7]) {
      const [out] = await runRestorer(restorer, [face], w);
      expect(out![0]).toBeCloseTo((w + 1) / 2, 6);
    }
  });
});

describe('fp16 copy with fp32 fallback', () => {
  /**
   * INJECTED case: the CPU provider runs fp16 graphs through inserted fp32 casts, so a real fp16
   * overflow cannot be produced here. This "copy" returns NaN (√(x − 2) on inputs in [-1, 1]) as an
   * overflowed fp16 restorer would; the fp32 model is the identity. The GPU path itself was not run.
   */
  function nanRestorerBytes(): Uint8Array {
    return new OnnxGraphBuilder('nan-restorer')
      .input('input', [1, 3, 512, 512])
      .output('output', [1, 3, 512, 512])
      .initializer('two', [1], new Float32Array([2]))
      .node('Sub', ['input', 'two'], ['shifted'])
      .node('Sqrt', ['shifted'], ['output'])
      .toBytes();
  }

  it('reruns a face on the fp32 model when the fp16 output holds NaN/Inf, and keeps using it', async () => {
    let fallbacks = 0;
    const fp32 = loadRestorer(await sessionFrom(identityRestorerBytes(1)), {}, 'fp32');
    const restorer = await loadRestorer(await sessionFrom(nanRestorerBytes()), {}, 'model', {
      fallback: () => {
        fallbacks++;
        return fp32;
      },
    });
    const face = new Float32Array(FACE).fill(0.25);
    const [restored] = await runRestorer(restorer, [face], 0.5);
    expect(restored![0]).toBeCloseTo(0.25, 6); // the identity's answer, not the NaN copy's 0
    expect(restorer.fellBack).toBe(true);
    const [again] = await runRestorer(restorer, [new Float32Array(FACE).fill(0.75)], 0.5);
    expect(again![FACE - 1]).toBeCloseTo(0.75, 6);
    expect(fallbacks).toBe(1);
  });

  it('does not fall back when the output is finite', async () => {
    let fallbacks = 0;
    const restorer = await loadRestorer(await sessionFrom(solidRedRestorerBytes(1)), {}, 'red', {
      fallback: () => {
        fallbacks++;
        return sessionFrom(identityRestorerBytes(1)).then((s) => loadRestorer(s));
      },
    });
    const [restored] = await runRestorer(restorer, [new Float32Array(FACE).fill(0.25)], 0.5);
    expect(restored![0]).toBe(1);
    expect([fallbacks, restorer.fellBack]).toEqual([0, undefined]);
  });

  it('without a fallback, NaN still becomes 0 (a broken export does not poison the paste)', async () => {
    const restorer = await loadRestorer(await sessionFrom(nanRestorerBytes()), {}, 'nan');
    const [restored] = await runRestorer(restorer, [new Float32Array(FACE).fill(0.25)], 0.5);
    expect(restored![0]).toBe(0);
  });
});

describe('constant-weight loading of modulated convolutions', () => {
  it('opens the constant-weight copy of a 512 stand-in-shaped model and gives the same faces as exported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'face-restorer-cw-'));
    try {
      const path = join(dir, 'tiny-gfpgan.onnx');
      // Full 512 I/O, 1/32 of the channels: the real structure at a test's cost.
      await writeFile(path, buildGfpganStandin({ narrow: 1 / 32, seed: 9 }).onnx);
      const runtime = { executionProviders: ['cpu'], intraOpThreads: 2 };
      const copy = await constantWeightCopy(path);
      expect(copy.rewritten).toBe(23);
      expect(copy.path).not.toBe(path);
      expect((await constantWeightCopy(path)).path).toBe(copy.path); // made once, then reused
      const plain = await loadRestorer(path, runtime);
      const rewritten = await loadRestorer(copy.path, runtime);
      const input = Float32Array.from({ length: FACE }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.0007));
      const [a] = await runRestorer(plain, [input], 0.5);
      const [b] = await runRestorer(rewritten, [input], 0.5);
      let diff = 0;
      for (let i = 0; i < FACE; i++) diff = Math.max(diff, Math.abs(a![i]! - b![i]!));
      expect(diff).toBeLessThanOrEqual(1e-4);
      // Not a saturated (all-clamped) output that would hide a difference.
      expect(a!.filter((v) => v > 0.01 && v < 0.99).length).toBeGreaterThan(FACE / 4);
      await plain.session.release();
      await rewritten.session.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
