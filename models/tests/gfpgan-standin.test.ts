import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildGfpganStandin, mulberry32, OnnxGraphBuilder, rewriteModulatedConvs } from '../src/index.ts';
import { decodeModel } from '../src/onnx/proto.ts';

const opts = { logSeverityLevel: 3 as const, intraOpNumThreads: 1 };

async function runAll(bytes: Uint8Array, inputs: Float32Array[], dims: number[], input = 'input', output = 'output') {
  const session = await InferenceSession.create(bytes, opts);
  try {
    const outs: Float32Array[] = [];
    for (const x of inputs)
      outs.push((await session.run({ [input]: new Tensor('float32', x, dims) }))[output]!.data as Float32Array);
    return outs;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function randomInputs(count: number, length: number, seed: number): Float32Array[] {
  const rand = mulberry32(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length }, () => rand() * 2 - 1));
}

describe('GFPGAN stand-in generator', () => {
  it('writes the GFPGANv1Clean structure at any size (counts follow the architecture)', () => {
    // 32² output: 3 resolutions up, 3 down → 1 + 3·3 + 1 + 3·3 + 3·4 U-Net/SFT convs + 1 + 1 + 6 + 3 decoder convs.
    const small = buildGfpganStandin({ size: 32, narrow: 1 / 16 });
    expect(small.opCounts.Conv).toBe(1 + 9 + 1 + 9 + 12 + 1 + 1 + 6 + 3);
    expect(small.opCounts.Gemm).toBe(1 + 2 + 6 + 3); // final_linear + one modulation per modulated conv
    expect(small.opCounts.Resize).toBe(3 * 2 + 3 * 2 + 3 + 3);
    const { graph } = decodeModel(small.onnx);
    const weights = graph.initializer.filter((t) => t.dataType === 1 && (t.dims?.length ?? 0) > 0);
    const stored = weights.reduce((n, t) => n + (t.rawData?.length ?? 0) / 4, 0);
    // Every random weight is in the file, plus the two Resize scale vectors (4 floats each).
    expect(stored).toBe(small.params + 8);
  });

  it('is deterministic for a seed and different for another', () => {
    const a = buildGfpganStandin({ size: 16, narrow: 1 / 32, seed: 7 }).onnx;
    const b = buildGfpganStandin({ size: 16, narrow: 1 / 32, seed: 7 }).onnx;
    const c = buildGfpganStandin({ size: 16, narrow: 1 / 32, seed: 8 }).onnx;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('in its batched form (batch folded into conv groups, as torch.onnx writes b > 1) gives each face its batch-1 output', async () => {
    const size = 16;
    const one = buildGfpganStandin({ size, narrow: 1 / 32, seed: 4 }).onnx;
    const two = buildGfpganStandin({ size, narrow: 1 / 32, seed: 4, batch: 2 }).onnx;
    const faces = randomInputs(2, 3 * size * size, 6);
    const single = await runAll(one, faces, [1, 3, size, size]);
    const pair = new Float32Array(2 * 3 * size * size);
    pair.set(faces[0]!, 0);
    pair.set(faces[1]!, 3 * size * size);
    const [batched] = await runAll(two, [pair], [2, 3, size, size]);
    expect(maxAbsDiff(batched!.subarray(0, 3 * size * size), single[0]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(batched!.subarray(3 * size * size), single[1]!)).toBeLessThan(1e-5);
  });

  it('at 512 has the published export’s cost and op counts (395.5 GFLOP, 95 Conv, 42 Resize, 24 Gemm)', () => {
    // Counting only: the full graph is built in the face-path test from the prepared file.
    const full = buildGfpganStandin();
    expect(full.flops / 1e9).toBeCloseTo(395.54, 1);
    expect([full.opCounts.Conv, full.opCounts.Resize, full.opCounts.Gemm]).toEqual([95, 42, 24]);
    // 84.34 M weights as GFPGANv1Clean's used parameters + 0.70 M stored noise.
    expect(full.params).toBe(85_038_263);
  });
});

describe('rewriteModulatedConvs', () => {
  it('rewrites one demodulated modulated conv exactly (small unit case)', async () => {
    const [cin, cout, k, hw, style] = [6, 5, 3, 7, 4];
    const rand = mulberry32(11);
    const f = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
    // torch.onnx's form: Gemm → Reshape → Mul(W) → Pow/ReduceSum/Add/Sqrt/Reciprocal → Reshape → Mul → Reshape → Conv.
    const bytes = new OnnxGraphBuilder('modconv')
      .input('x', [1, cin, hw, hw])
      .input('latent', [1, style])
      .initializer('mw', [cin, style], f(cin * style))
      .initializer(
        'mb',
        [cin],
        f(cin, 0.1).map((v) => v + 1),
      )
      .initializer('w', [1, cout, cin, k, k], f(cout * cin * k * k))
      .initializer('s5', [5], [1, 1, cin, 1, 1])
      .initializer('two', [], Float32Array.of(2))
      .initializer('axes', [3], [2, 3, 4])
      .initializer('eps', [], Float32Array.of(1e-8))
      .initializer('d5', [5], [1, cout, 1, 1, 1])
      .initializer('w4', [4], [cout, cin, k, k])
      .node('Gemm', ['latent', 'mw', 'mb'], ['s'], { transB: 1 })
      .node('Reshape', ['s', 's5'], ['s_5'])
      .node('Mul', ['w', 's_5'], ['ws'])
      .node('Pow', ['ws', 'two'], ['sq'])
      .node('ReduceSum', ['sq', 'axes'], ['sum'], { keepdims: 0 })
      .node('Add', ['sum', 'eps'], ['sum_eps'])
      .node('Sqrt', ['sum_eps'], ['root'])
      .node('Reciprocal', ['root'], ['demod'])
      .node('Reshape', ['demod', 'd5'], ['demod5'])
      .node('Mul', ['ws', 'demod5'], ['wd'])
      .node('Reshape', ['wd', 'w4'], ['weight'])
      .node('Conv', ['x', 'weight'], ['y'], { kernel_shape: [k, k], pads: [1, 1, 1, 1], group: 1 })
      .output('y', [1, cout, hw, hw])
      .toBytes();
    const result = rewriteModulatedConvs(bytes);
    expect([result.rewritten, result.demodulated]).toEqual([1, 1]);
    const { graph } = decodeModel(result.onnx);
    const conv = graph.node.find((n) => n.opType === 'Conv')!;
    // The conv's weight is now a constant, and the per-run weight computation is gone.
    expect(graph.initializer.some((t) => t.name === conv.input?.[1])).toBe(true);
    expect(graph.node.some((n) => n.opType === 'Pow' || n.opType === 'ReduceSum')).toBe(false);
    for (let i = 0; i < 3; i++) {
      const [x, latent] = [f(cin * hw * hw), f(style)];
      const run = async (b: Uint8Array) => {
        const s = await InferenceSession.create(b, opts);
        const out = await s.run({
          x: new Tensor('float32', x, [1, cin, hw, hw]),
          latent: new Tensor('float32', latent, [1, style]),
        });
        await s.release();
        return out.y!.data as Float32Array;
      };
      const [before, after] = [await run(bytes), await run(result.onnx)];
      expect(maxAbsDiff(before, after)).toBeLessThan(1e-5);
      expect(Math.max(...before.map(Math.abs))).toBeGreaterThan(0.1); // not a trivially zero output
    }
  });

  it('rewrites every modulated conv of a small stand-in and keeps its output (≤ 1e-4)', async () => {
    const size = 32;
    const { onnx, opCounts } = buildGfpganStandin({ size, narrow: 1 / 16, seed: 3 });
    const result = rewriteModulatedConvs(onnx);
    // style_conv1 + 2 per level demodulated, to_rgb1 + 1 per level not.
    const levels = Math.log2(size) - 2;
    expect(result.rewritten).toBe(2 + 3 * levels);
    expect(result.demodulated).toBe(1 + 2 * levels);
    const after = decodeModel(result.onnx).graph;
    const inits = new Set(after.initializer.map((t) => t.name));
    expect(after.node.filter((n) => n.opType === 'Conv').every((n) => inits.has(n.input?.[1] ?? ''))).toBe(true);
    expect(after.node.filter((n) => n.opType === 'Conv')).toHaveLength(opCounts.Conv!);
    const inputs = randomInputs(3, 3 * size * size, 5);
    const [a, b] = [
      await runAll(onnx, inputs, [1, 3, size, size]),
      await runAll(result.onnx, inputs, [1, 3, size, size]),
    ];
    for (let i = 0; i < inputs.length; i++) expect(maxAbsDiff(a[i]!, b[i]!)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(a[0]!, a[1]!)).toBeGreaterThan(1e-3); // the inputs reach the output
  });

  it('leaves a model without modulated convolutions unchanged', () => {
    const bytes = new OnnxGraphBuilder('plain')
      .input('x', [1, 1, 4, 4])
      .initializer('w', [1, 1, 3, 3], new Float32Array(9).fill(1))
      .node('Conv', ['x', 'w'], ['y'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })
      .output('y', [1, 1, 4, 4])
      .toBytes();
    const result = rewriteModulatedConvs(bytes);
    expect(result.rewritten).toBe(0);
    expect(result.onnx).toBe(bytes);
  });
});
