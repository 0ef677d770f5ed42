/**
 * int8 (QDQ) quantization: the quantizer computes what the fp32 graph computes, to within its
 * quantization steps, in a form onnxruntime's CPU provider really runs as integer kernels; the
 * x4fast int8 build is deterministic (its manifest pin) and its fidelity on the committed golden
 * inputs is what the manifest records, so the ship/no-ship verdict rests on a re-measured number.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { fidelity } from '../src/fidelity.ts';
import { sha256Bytes } from '../src/files.ts';
import {
  CALIBRATION_DIR,
  ensureModel,
  getModelEntry,
  INT8_FIDELITY_FLOOR,
  imageToPlanar,
  OnnxGraphBuilder,
  quantizeUpscaler,
  variantAvailability,
} from '../src/index.ts';
import { calibrateRanges } from '../src/onnx/calibrate.ts';
import { decodeModel } from '../src/onnx/proto.ts';
import { quantizationTargets, quantizeQdq } from '../src/onnx/quantize-qdq.ts';
import { mulberry32 } from '../src/random.ts';

const work = mkdtempSync(join(tmpdir(), 'photoenhance-int8-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function uniform(count: number, seed: number, lo: number, hi: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: count }, () => lo + random() * (hi - lo));
}

/** conv 3→8 (+Relu) → conv 8→8 → LeakyRelu → add residual → concat → conv 16→3. */
function smallNet(): Uint8Array {
  const g = new OnnxGraphBuilder('small').input('input', [1, 3, 'h', 'w']);
  const conv = (name: string, x: string, inC: number, outC: number, seed: number, out: string) =>
    g
      .initializer(`${name}.w`, [outC, inC, 3, 3], uniform(outC * inC * 9, seed, -0.4, 0.4))
      .initializer(`${name}.b`, [outC], uniform(outC, seed + 1, -0.1, 0.1))
      .node('Conv', [x, `${name}.w`, `${name}.b`], [out], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, name);
  conv('c1', 'input', 3, 8, 1, 'a');
  g.node('Relu', ['a'], ['a_relu'], {}, 'r1');
  conv('c2', 'a_relu', 8, 8, 3, 'b');
  g.node('LeakyRelu', ['b'], ['b_act'], { alpha: 0.2 }, 'l2');
  g.node('Add', ['b_act', 'a_relu'], ['s'], {}, 'add');
  g.node('Concat', ['s', 'a_relu'], ['cat'], { axis: 1 }, 'cat');
  conv('c3', 'cat', 16, 3, 5, 'output');
  return g.output('output', [1, 3, 'h', 'w']).toBytes();
}

async function run(model: Uint8Array, data: Float32Array, dims: number[], optimizedPath?: string) {
  const session = await InferenceSession.create(model, {
    intraOpNumThreads: 1,
    ...(optimizedPath ? { optimizedModelFilePath: optimizedPath } : {}),
  });
  const out = await session.run({ input: new Tensor('float32', data, dims) });
  await session.release();
  return out.output!.data as Float32Array;
}

describe('QDQ quantizer', () => {
  it('matches fp32 to within the quantization steps, and onnxruntime runs it as integer kernels', async () => {
    const fp32 = smallNet();
    const dims = [1, 3, 16, 16];
    const calibration = [1, 2, 3].map((seed) => ({ data: uniform(3 * 256, seed, 0, 1), dims }));
    const targets = quantizationTargets(fp32);
    // the Relu after c1 is folded into c1 (its output takes the Relu output's name and range)
    expect(targets).toContain('a_relu');
    expect(targets).not.toContain('a');
    const ranges = await calibrateRanges(fp32, targets, calibration, { intraOpNumThreads: 1 });
    expect(ranges.get('a_relu')!.min).toBe(0);

    const int8 = quantizeQdq(fp32, { ranges });
    const ops = decodeModel(int8).graph.node.map((n) => n.opType);
    expect(ops).not.toContain('Relu');
    expect(ops.filter((o) => o === 'QuantizeLinear').length).toBe(targets.length);

    const probe = uniform(3 * 256, 99, 0, 1); // not a calibration input
    const ref = await run(fp32, probe, dims);
    const optimized = join(work, 'small.opt.onnx');
    const got = await run(int8, probe, dims, optimized);
    const f = fidelity(got, ref, 3, 16, 16);
    // a wrong scale, zero point, bias or axis costs tens of dB; quantization noise alone stays near 40
    expect(f.psnrDb).toBeGreaterThan(30);
    expect(f.psnrDb).toBeLessThan(80); // and it is really quantized
    const optimizedOps = decodeModel(new Uint8Array(readFileSync(optimized))).graph.node.map((n) => n.opType);
    expect(optimizedOps.filter((o) => o === 'QLinearConv').length).toBe(2);
    expect(optimizedOps).toContain('QLinearLeakyRelu');
    expect(optimizedOps).toContain('QLinearAdd');
    expect(optimizedOps).toContain('QLinearConcat');
    // c3 writes the graph output, which stays fp32: the one float Conv (on dequantized inputs)
    expect(optimizedOps.filter((o) => o === 'Conv' || o === 'FusedConv').length).toBe(1);
  });

  it('keeps convolutions named as float in fp32 (mixed precision)', async () => {
    const fp32 = smallNet();
    const floatConvs = new Set(['c1', 'c3']);
    const targets = quantizationTargets(fp32, floatConvs);
    const ranges = await calibrateRanges(fp32, targets, [{ data: uniform(3 * 64, 7, 0, 1), dims: [1, 3, 8, 8] }]);
    const graph = decodeModel(quantizeQdq(fp32, { ranges, floatConvs })).graph;
    const weightOf = (name: string) => graph.node.find((n) => n.name === name)!.input![1];
    expect(weightOf('c1')).toBe('c1.w');
    expect(weightOf('c3')).toBe('c3.w');
    expect(weightOf('c2')).toBe('c2.w__dq');
    // c1 keeps its own Relu: without a quantized output there is no clamp to stand in for it
    expect(graph.node.some((n) => n.opType === 'Relu')).toBe(true);
  });

  it('refuses a tensor without a calibrated range', () => {
    expect(() => quantizeQdq(smallNet(), { ranges: new Map() })).toThrow(/no calibrated range/);
  });
});

describe('realesrgan-x4fast int8', () => {
  const entry = getModelEntry('realesrgan-x4fast');
  const int8 = entry.variants.int8!;

  it('builds deterministically: the manifest pin, twice', async () => {
    const fp32 = new Uint8Array(await readFile((await ensureModel('realesrgan-x4fast')).path));
    const a = await quantizeUpscaler(fp32, int8.recipe);
    const b = await quantizeUpscaler(fp32, int8.recipe);
    expect(sha256Bytes(b)).toBe(sha256Bytes(a));
    expect({ sha256: sha256Bytes(a), bytes: a.length }).toEqual({ sha256: int8.sha256, bytes: int8.bytes });
  }, 60_000);

  it('has the fidelity on the golden inputs that the manifest records, and ships only above the floor', async () => {
    const fp32 = new Uint8Array(await readFile((await ensureModel('realesrgan-x4fast')).path));
    const quantized = await quantizeUpscaler(fp32, int8.recipe);
    const sessions = await Promise.all(
      [fp32, quantized].map((m) => InferenceSession.create(m, { intraOpNumThreads: 2 })),
    );
    let minPsnr = Number.POSITIVE_INFINITY;
    let minPatch = Number.POSITIVE_INFINITY;
    const files = readdirSync(CALIBRATION_DIR).filter((f) => f.endsWith('.png'));
    expect(files.length).toBe(3);
    for (const file of files) {
      const input = await imageToPlanar(readFileSync(new URL(file, CALIBRATION_DIR)));
      const [ref, got] = await Promise.all(
        sessions.map(async (s) => (await s.run({ input: new Tensor('float32', input.data, input.dims) })).output!),
      );
      const [, c, h, w] = ref!.dims as number[];
      const f = fidelity(got!.data as Float32Array, ref!.data as Float32Array, c!, h!, w!);
      minPsnr = Math.min(minPsnr, f.psnrDb);
      minPatch = Math.min(minPatch, f.worstPatchDb);
    }
    await Promise.all(sessions.map((s) => s.release()));
    expect(minPsnr).toBeCloseTo(int8.fidelity.golden.minPsnrDb, 0);
    expect(minPatch).toBeCloseTo(int8.fidelity.golden.minWorstPatchDb, 0);
    const goldenPasses = minPsnr >= INT8_FIDELITY_FLOOR.psnrDb && minPatch >= INT8_FIDELITY_FLOOR.worstPatchDb;
    // shipping needs the floor on every photo: the golden inputs are a necessary part of that
    if (int8.fidelity.passed) expect(goldenPasses).toBe(true);
    expect(variantAvailability(entry, 'int8').available).toBe(int8.fidelity.passed);
    if (!int8.fidelity.passed) {
      await expect(ensureModel('realesrgan-x4fast', { variant: 'int8' })).rejects.toThrow(/failed the fidelity floor/);
    }
  }, 120_000);
});
