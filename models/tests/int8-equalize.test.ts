/**
 * The int8 pre-quantization transforms: cross-layer equalization is exact in fp32 (the same function,
 * to fp32 rounding) and does equalize the paired ranges, through the depthwise PReLU form and through
 * Concat channel offsets; bias correction converges (it diverged when it compared against the fp32
 * graph's outputs); the mixed-precision options keep what they name in fp32.
 */
import { readFile } from 'node:fs/promises';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ensureModel, OnnxGraphBuilder } from '../src/index.ts';
import { calibrationInputs } from '../src/int8.ts';
import { correctBiases } from '../src/onnx/bias-correction.ts';
import { convLayers, equalizeCrossLayer } from '../src/onnx/equalize.ts';
import { decodeModel } from '../src/onnx/proto.ts';
import { quantizationTargets, quantizeQdq } from '../src/onnx/quantize-qdq.ts';
import { mulberry32 } from '../src/random.ts';

function uniform(count: number, seed: number, lo: number, hi: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: count }, () => lo + random() * (hi - lo));
}

/** Per-column scales that vary 100×, so equalization has something to do. */
function imbalanced(out: number, inC: number, seed: number): Float32Array {
  const w = uniform(out * inC * 9, seed, -1, 1);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inC; i++) for (let k = 0; k < 9; k++) w[(o * inC + i) * 9 + k]! *= 10 ** ((i % 3) - 1);
  return w;
}

/** c0 3→4; c1 4→4 + LeakyRelu; concat(c0 out, c1 out) → c2 8→3: c1's channels sit at offset 4. */
function concatNet(): Uint8Array {
  const g = new OnnxGraphBuilder('dense').input('input', [1, 3, 'h', 'w']);
  const conv = (name: string, x: string, inC: number, outC: number, seed: number, out: string) =>
    g
      .initializer(`${name}.w`, [outC, inC, 3, 3], imbalanced(outC, inC, seed))
      .initializer(`${name}.b`, [outC], uniform(outC, seed + 1, -0.1, 0.1))
      .node('Conv', [x, `${name}.w`, `${name}.b`], [out], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, name);
  conv('c0', 'input', 3, 4, 1, 'x');
  conv('c1', 'x', 4, 4, 3, 'y');
  g.node('LeakyRelu', ['y'], ['y_act'], { alpha: 0.2 }, 'act1');
  g.node('Concat', ['x', 'y_act'], ['cat'], { axis: 1 }, 'cat');
  conv('c2', 'cat', 8, 3, 5, 'output');
  return g.output('output', [1, 3, 'h', 'w']).toBytes();
}

async function maxDifference(a: Uint8Array, b: Uint8Array, inputs: { data: Float32Array; dims: number[] }[]) {
  const sessions = await Promise.all([a, b].map((m) => InferenceSession.create(m, { intraOpNumThreads: 1 })));
  let worst = 0;
  let peak = 0;
  for (const input of inputs) {
    const [ya, yb] = await Promise.all(
      sessions.map(
        async (s) =>
          (await s.run({ input: new Tensor('float32', input.data, input.dims) })).output!.data as Float32Array,
      ),
    );
    for (let i = 0; i < ya!.length; i++) {
      worst = Math.max(worst, Math.abs(ya![i]! - yb![i]!));
      peak = Math.max(peak, Math.abs(ya![i]!));
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  return { worst, peak };
}

function weights(bytes: Uint8Array, name: string): Float32Array {
  const t = decodeModel(bytes).graph.initializer.find((i) => i.name === name)!;
  const view = new DataView(t.rawData!.buffer, t.rawData!.byteOffset, t.rawData!.byteLength);
  return Float32Array.from({ length: t.rawData!.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

describe('cross-layer equalization', () => {
  it('pairs convs through a Concat at the right channel offset, computes the same function, equalizes ranges', async () => {
    const fp32 = concatNet();
    const { bytes, pairs } = equalizeCrossLayer(fp32);
    expect(pairs).toEqual([
      { producer: 'c0', consumers: ['c1', 'c2'] },
      { producer: 'c1', consumers: ['c2'] },
    ]);
    const inputs = [1, 2].map((seed) => ({ data: uniform(3 * 144, seed, 0, 1), dims: [1, 3, 12, 12] }));
    const { worst, peak } = await maxDifference(fp32, bytes, inputs);
    expect(peak).toBeGreaterThan(1);
    expect(worst).toBeLessThan(1e-5 * peak);
    // c1 output channel ranges now equal c2's input-column ranges at offset 4 (wrong offset: not so)
    const c1 = weights(bytes, 'c1.w');
    const c2 = weights(bytes, 'c2.w');
    for (let ch = 0; ch < 4; ch++) {
      const r1 = Math.max(...c1.slice(ch * 36, (ch + 1) * 36).map(Math.abs));
      let r2 = 0;
      for (let o = 0; o < 3; o++)
        for (let k = 0; k < 9; k++) r2 = Math.max(r2, Math.abs(c2[(o * 8 + 4 + ch) * 9 + k]!));
      expect(r2 / r1).toBeCloseTo(1, 3);
    }
  });

  it('is exact on realesrgan-x4fast (depthwise PReLU form): 33 pairs, output within fp32 rounding', async () => {
    const fp32 = new Uint8Array(await readFile((await ensureModel('realesrgan-x4fast')).path));
    const { bytes, pairs } = equalizeCrossLayer(fp32);
    expect(pairs.length).toBe(33);
    expect(pairs[0]).toEqual({ producer: 'Conv_0', consumers: ['Conv_2'] });
    const inputs = (await calibrationInputs()).map((i) => ({ data: i.data, dims: [...i.dims] }));
    const { worst } = await maxDifference(fp32, bytes, inputs);
    expect(worst).toBeGreaterThan(0); // the weights really changed
    expect(worst).toBeLessThan(1e-4);
  }, 60_000);
});

describe('bias correction and mixed precision on realesrgan-x4fast', () => {
  it('bias correction converges: each pass leaves a much smaller mean shift', async () => {
    const fp32 = new Uint8Array(await readFile((await ensureModel('realesrgan-x4fast')).path));
    const floatConvs = new Set(['Conv_0', 'Conv_66']);
    const quantize = (m: Uint8Array) => quantizeQdq(m, { ranges: new Map(), mode: 'weights', floatConvs });
    const { meanShift, bytes } = await correctBiases(fp32, quantize, await calibrationInputs(), { passes: 2 });
    expect(meanShift[0]).toBeGreaterThan(1e-3);
    expect(meanShift[1]).toBeLessThan(meanShift[0]! / 5);
    expect(weights(bytes, 'Conv_2.bias')).not.toEqual(weights(fp32, 'Conv_2.bias'));
  }, 120_000);

  it('keeps named layers and the output Add in fp32', async () => {
    const fp32 = new Uint8Array(await readFile((await ensureModel('realesrgan-x4fast')).path));
    const layer = convLayers(fp32).get('Conv_2')!;
    expect([...layer].sort()).toEqual(
      ['Conv_2', 'PRelu_3.add', 'PRelu_3.beta_conv', 'PRelu_3.gamma_conv', 'PRelu_3.relu'].sort(),
    );
    const ends = new Set(['Conv_0', 'Conv_66']);
    const outputAddInputs = decodeModel(fp32).graph.node.find((n) => n.output?.includes('output'))!.input!;
    expect(quantizationTargets(fp32, ends)).toEqual(expect.arrayContaining(outputAddInputs));
    const targets = quantizationTargets(fp32, ends, new Set(layer), true);
    for (const t of outputAddInputs) expect(targets).not.toContain(t);
    const ranges = new Map(targets.map((t) => [t, { min: -1, max: 1 }]));
    const graph = decodeModel(
      quantizeQdq(fp32, { ranges, floatConvs: ends, floatNodes: new Set(layer), floatOutputOps: true }),
    ).graph;
    const node = (name: string) => graph.node.find((n) => n.name === name)!;
    expect(node('Conv_2').input![1]).toBe('Conv_2.weight');
    expect(node('PRelu_3.beta_conv').input![1]).toBe('PRelu_3.beta');
    expect(node('Conv_4').input![1]).toBe('Conv_4.weight__dq');
    expect(graph.node.some((n) => n.name === 'PRelu_3.relu')).toBe(true); // not folded: it stays fp32
  });
});
