/**
 * The depthwise PReLU encoding (the converter's default) must compute what the ONNX PRelu encoding
 * computes, to fp32 rounding, for any slopes (negative, 0, 1, above 1) and any readers of the
 * PReLU output; and it must actually keep onnxruntime's CPU graph in the blocked NCHWc layout.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { convertNcnnToOnnx, type PreluForm } from '../src/ncnn/to-onnx.ts';
import { decodeModel } from '../src/onnx/proto.ts';
import { mulberry32 } from '../src/random.ts';
import { BinWriter } from './ncnn-reference.ts';

/** Uniform values in [lo, hi), deterministic per seed. */
function uniform(count: number, seed: number, lo = -1, hi = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: count }, () => lo + random() * (hi - lo));
}

/** Random slopes in [-2, 2) with the edge values 0, 1 and a value above 1 always present. */
function slopes(count: number, seed: number, max = 2): Float32Array {
  const s = uniform(count, seed, -2, max);
  s[0] = 0;
  s[1] = 1;
  if (max > 1) s[2] = 1.5;
  return s;
}

const conv = (w: BinWriter, inC: number, outC: number, k: number, seed: number) =>
  w.fp16Weights(uniform(outC * inC * k * k, seed, -0.5, 0.5)).fp32(uniform(outC, seed + 100, -0.2, 0.2));

/** conv → PReLU → Split into two convs → add → PReLU → conv: both PReLUs are read only by convolutions. */
const CHAIN_PARAM = `7767517
9 10
Input        in   0 1 data
Convolution  c1   1 1 data a 0=16 1=3 4=1 5=1 6=432
PReLU        p1   1 1 a b 0=16
Split        sp   1 2 b b0 b1
Convolution  c2a  1 1 b0 ca 0=16 1=3 4=1 5=1 6=2304
Convolution  c2b  1 1 b1 cb 0=16 1=1 5=1 6=256
BinaryOp     add  2 1 ca cb d
PReLU        p2   1 1 d e 0=16
Convolution  c3   1 1 e out 0=3 1=3 4=1 5=1 6=432
`;
const chainBin = () => {
  const w = new BinWriter();
  conv(w, 3, 16, 3, 1).fp32(slopes(16, 2));
  conv(w, 16, 16, 3, 3);
  conv(w, 16, 16, 1, 4).fp32(slopes(16, 5));
  return conv(w, 16, 3, 3, 6).bytes();
};

/** The PReLU output is also read by an add (not a convolution), so its channels cannot be sign-flipped. */
const SHARED_PARAM = (slopeLine: string) => `7767517
6 7
Input        in   0 1 data
Convolution  c1   1 1 data a 0=4 1=3 4=1 5=1 6=108
${slopeLine}
Split        sp   1 2 b b0 b1
Convolution  c2   1 1 b0 c 0=4 1=3 4=1 5=1 6=144
BinaryOp     add  2 1 c b1 out
`;
const sharedBin = (s: Float32Array) => {
  const w = new BinWriter();
  conv(w, 3, 4, 3, 7).fp32(s);
  return conv(w, 4, 4, 3, 8).bytes();
};

/** The PReLU output is the graph output. */
const TERMINAL_PARAM = `7767517
3 3
Input        in   0 1 data
Convolution  c1   1 1 data a 0=4 1=3 4=1 5=1 6=108
PReLU        p1   1 1 a out 0=4
`;
const terminalBin = (s: Float32Array) => conv(new BinWriter(), 3, 4, 3, 9).fp32(s).bytes();

async function run(model: Uint8Array, x: Float32Array, h: number, w: number): Promise<Float32Array> {
  const session = await InferenceSession.create(model);
  try {
    return (await session.run({ input: new Tensor('float32', x, [1, 3, h, w]) })).output!.data as Float32Array;
  } finally {
    await session.release();
  }
}

const ops = (model: Uint8Array) => decodeModel(model).graph.node.map((n) => n.opType);

/** Converts both ways, runs both on random data and returns the two outputs and the depthwise graph. */
async function bothForms(param: string, bin: Uint8Array) {
  const convert = (prelu: PreluForm) => convertNcnnToOnnx(param, bin, { prelu }).onnx;
  const prelu = convert('prelu');
  const depthwise = convert('depthwise');
  const [h, w] = [9, 11];
  const x = uniform(3 * h * w, 42, -1, 2); // beyond [0,1] too, so every PReLU sees both signs
  const [a, b] = await Promise.all([run(prelu, x, h, w), run(depthwise, x, h, w)]);
  return { prelu, depthwise, a, b };
}

function expectFp32Equal(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const peak = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const diff = actual.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
  expect(peak).toBeGreaterThan(0.1);
  // fp32 rounding of a few products and sums per layer, not a formula error (those are ≥ 1e-2 here)
  expect(diff).toBeLessThan(peak * 1e-5);
}

describe('PReLU encodings', () => {
  it('depthwise form equals PRelu, sign-flipping channels with slope > 1 into the reading convolutions', async () => {
    const { prelu, depthwise, a, b } = await bothForms(CHAIN_PARAM, chainBin());
    expectFp32Equal(b, a);
    expect(ops(prelu).filter((o) => o === 'PRelu')).toHaveLength(2);
    expect(ops(depthwise)).not.toContain('PRelu');
    // flipped channels: c2a/c2b/c3 weights differ in sign between the forms, exactly
    const weights = (model: Uint8Array, name: string) =>
      new Float32Array(
        Uint8Array.from(decodeModel(model).graph.initializer.find((t) => t.name === name)!.rawData!).buffer,
      );
    const [wp, wd] = [weights(prelu, 'c2b.weight'), weights(depthwise, 'c2b.weight')];
    expect(wd.map((v, i) => v / wp[i]!).filter((r) => r === -1).length).toBeGreaterThan(0);
    expect(wd.every((v, i) => Math.abs(v) === Math.abs(wp[i]!))).toBe(true);
  });

  it('keeps true values when a non-convolution reads the PReLU: depthwise if all slopes ≤ 1, else PRelu', async () => {
    const line = 'PReLU        p1   1 1 a b 0=4';
    const convex = await bothForms(SHARED_PARAM(line), sharedBin(slopes(4, 11, 1)));
    expectFp32Equal(convex.b, convex.a);
    expect(ops(convex.depthwise)).not.toContain('PRelu');
    const mixed = await bothForms(SHARED_PARAM(line), sharedBin(slopes(4, 12)));
    expectFp32Equal(mixed.b, mixed.a);
    expect(ops(mixed.depthwise)).toContain('PRelu');
  });

  it('a PReLU that is the graph output', async () => {
    const convex = await bothForms(TERMINAL_PARAM, terminalBin(slopes(4, 13, 1)));
    expectFp32Equal(convex.b, convex.a);
    expect(ops(convex.depthwise)).not.toContain('PRelu');
    const mixed = await bothForms(TERMINAL_PARAM, terminalBin(slopes(4, 14)));
    expect(mixed.b).toEqual(mixed.a); // falls back to the identical PRelu graph
  });

  it('a single shared slope becomes LeakyRelu', async () => {
    const param = SHARED_PARAM('PReLU        p1   1 1 a b 0=1');
    for (const slope of [0.25, -0.5, 1.75]) {
      const { depthwise, a, b } = await bothForms(param, sharedBin(Float32Array.of(slope)));
      expect(b).toEqual(a); // the same function, evaluated the same way
      expect(ops(depthwise)).toContain('LeakyRelu');
    }
  });

  describe("onnxruntime's CPU graph", () => {
    const dir = mkdtempSync(join(tmpdir(), 'prelu-form-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** NCHWc reorders in the graph onnxruntime runs (level 'all', as the engine uses). */
    async function reorders(model: Uint8Array, file: string): Promise<number> {
      const path = join(dir, file);
      const session = await InferenceSession.create(model, {
        graphOptimizationLevel: 'all',
        optimizedModelFilePath: path,
        logSeverityLevel: 3,
      });
      await session.release();
      return ops(readFileSync(path)).filter((o) => o === 'ReorderInput' || o === 'ReorderOutput').length;
    }

    it('needs no reorders around the depthwise form (PRelu needs a pair per layer)', async () => {
      const bin = chainBin();
      const prelu = await reorders(convertNcnnToOnnx(CHAIN_PARAM, bin, { prelu: 'prelu' }).onnx, 'prelu.onnx');
      const depthwise = await reorders(convertNcnnToOnnx(CHAIN_PARAM, bin).onnx, 'depthwise.onnx');
      // depthwise: only the final ReorderOutput (c3 has 3 output channels and leaves the layout)
      expect(depthwise).toBe(1);
      expect(prelu).toBeGreaterThanOrEqual(depthwise + 4);
    });
  });
});
