import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { floatAttr, OnnxGraphBuilder } from '../src/index.ts';

async function run(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<InferenceSession.OnnxValueMapType> {
  const session = await InferenceSession.create(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('OnnxGraphBuilder', () => {
  it('builds an Add graph with an initializer that onnxruntime runs', async () => {
    const bytes = new OnnxGraphBuilder('add')
      .input('x', [1, 4])
      .initializer('b', [1, 4], new Float32Array([10, 20, 30, 40]))
      .node('Add', ['x', 'b'], ['y'])
      .output('y', [1, 4])
      .toBytes();
    const out = await run(bytes, { x: new Tensor('float32', new Float32Array([1, 2, 3, 4.5]), [1, 4]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([11, 22, 33, 44.5]);
  });

  it('builds a padded 3x3 Conv with dynamic H/W and matches a direct convolution', async () => {
    const [cin, cout, h, w] = [2, 3, 5, 7];
    const weights = Float32Array.from({ length: cout * cin * 9 }, (_, i) => Math.sin(i * 0.7));
    const bias = Float32Array.from({ length: cout }, (_, i) => i * 0.25 - 0.3);
    const bytes = new OnnxGraphBuilder('conv')
      .input('x', [1, cin, 'height', 'width'])
      .initializer('w', [cout, cin, 3, 3], weights)
      .initializer('b', [cout], bias)
      .node('Conv', ['x', 'w', 'b'], ['y'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] })
      .output('y', [1, cout, 'height', 'width'])
      .toBytes();
    const x = Float32Array.from({ length: cin * h * w }, (_, i) => Math.cos(i * 0.31));
    const out = await run(bytes, { x: new Tensor('float32', x, [1, cin, h, w]) });
    expect(out.y!.dims).toEqual([1, cout, h, w]);
    const y = out.y!.data as Float32Array;
    for (let o = 0; o < cout; o++) {
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < w; c++) {
          let acc = bias[o]!;
          for (let i = 0; i < cin; i++) {
            for (let kr = 0; kr < 3; kr++) {
              for (let kc = 0; kc < 3; kc++) {
                const rr = r + kr - 1;
                const cc = c + kc - 1;
                if (rr < 0 || cc < 0 || rr >= h || cc >= w) continue;
                acc += weights[((o * cin + i) * 3 + kr) * 3 + kc]! * x[(i * h + rr) * w + cc]!;
              }
            }
          }
          expect(y[(o * h + r) * w + c]).toBeCloseTo(acc, 5);
        }
      }
    }
  });

  it('encodes integer, float, forced-float, string attributes and int64 initializers correctly', async () => {
    const build = (alpha: number | { float: number }) =>
      new OnnxGraphBuilder('attrs')
        .input('x', [1, 2, 2, 2])
        .initializer('shape', [2], [1, 8])
        .node('LeakyRelu', ['x'], ['a'], { alpha })
        .node('DepthToSpace', ['a'], ['d'], { blocksize: 1, mode: 'CRD' })
        .node('Reshape', ['d', 'shape'], ['r'])
        .node('Elu', ['r'], ['e'], { alpha: 0.5 })
        .output('e', [1, 8])
        .toBytes();
    // A plain integer becomes an INT attribute, which onnxruntime rejects for LeakyRelu's float alpha:
    // this is why floatAttr() exists.
    await expect(InferenceSession.create(build(2))).rejects.toThrow(/alpha/);
    const x = new Float32Array([-1, 1, -2, 2, -0.5, 0.5, 3, -3]);
    const out = await run(build(floatAttr(2)), { x: new Tensor('float32', x, [1, 2, 2, 2]) });
    expect(out.e!.dims).toEqual([1, 8]);
    // LeakyRelu(2) doubles negatives; Elu(0.5) maps negative v to 0.5*(exp(v)-1)
    const expected = Array.from(x, (v) => {
      const a = v < 0 ? 2 * v : v;
      return a < 0 ? 0.5 * (Math.exp(a) - 1) : a;
    });
    const got = Array.from(out.e!.data as Float32Array);
    for (const [i, v] of got.entries()) expect(v).toBeCloseTo(expected[i]!, 6);
  });

  it('is deterministic and rejects duplicate tensor names and wrong initializer sizes', () => {
    const build = () => new OnnxGraphBuilder('g').input('x', [1]).node('Relu', ['x'], ['y']).output('y', [1]).toBytes();
    expect(Buffer.from(build()).equals(Buffer.from(build()))).toBe(true);
    expect(() => new OnnxGraphBuilder('g').input('x', [1]).node('Relu', ['x'], ['x'])).toThrow(/"x" defined twice/);
    expect(() => new OnnxGraphBuilder('g').initializer('w', [2, 2], new Float32Array(3))).toThrow(/3 values/);
  });
});
