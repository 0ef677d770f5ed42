import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { convertNcnnToOnnx } from '../src/ncnn/to-onnx.ts';
import { decodeModel, describeValue } from '../src/onnx/proto.ts';
import { convertModelToFp16 } from '../src/onnx/to-fp16.ts';
import {
  add,
  BinWriter,
  type Chw,
  concat,
  conv2d,
  exactHalfValues,
  leakyRelu,
  nearestUpsample,
  pixelShuffle,
  prelu,
  relu,
} from './ncnn-reference.ts';

async function runModel(bytes: Uint8Array, x: Chw): Promise<Chw> {
  const session = await InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new Tensor('float32', x.data, [1, x.c, x.h, x.w]) });
    const t = out.output!;
    const [, c, h, w] = t.dims as number[];
    return { c: c!, h: h!, w: w!, data: t.data as Float32Array };
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Chw, b: Chw): number {
  expect([a.c, a.h, a.w]).toEqual([b.c, b.h, b.w]);
  return a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i]!)), 0);
}

const input: Chw = { c: 3, h: 6, w: 5, data: exactHalfValues(3 * 6 * 5, 99) };

// A miniature SRVGGNetCompact (x2): conv → PReLU → conv → PixelShuffle, plus a nearest-upsampled skip.
const SRVGG_PARAM = `7767517
8 9
Input            in     0 1 data
Split            sp     1 2 data d0 d1
Convolution      c1     1 1 d1 a 0=4 1=3 4=1 5=1 6=108
PReLU            p1     1 1 a b 0=4
Convolution      c2     1 1 b c 0=12 1=3 4=1 5=1 6=432
PixelShuffle     ps     1 1 c d 0=2
Interp           up     1 1 d0 e 0=1 1=2.000000e+00 2=2.000000e+00
BinaryOp         add    2 1 d e out
`;
const srvgg = {
  w1: exactHalfValues(108, 1),
  b1: Float32Array.from([0.1, -0.2, 0.3, 0.05]),
  s1: Float32Array.from([0.25, 0.1, -0.5, 1.5]),
  w2: exactHalfValues(432, 2),
  b2: Float32Array.from({ length: 12 }, (_, i) => i / 10 - 0.6),
};
const srvggBin = () =>
  new BinWriter().fp16Weights(srvgg.w1).fp32(srvgg.b1).fp32(srvgg.s1).fp16Weights(srvgg.w2).fp32(srvgg.b2).bytes();

function srvggReference(x: Chw): Chw {
  const a = prelu(conv2d(x, srvgg.w1, srvgg.b1, 4, 3, { pad: 1 }), srvgg.s1);
  const d = pixelShuffle(conv2d(a, srvgg.w2, srvgg.b2, 12, 3, { pad: 1 }), 2);
  return add(d, nearestUpsample(x, 2));
}

// A miniature RRDB-style net: fused LeakyReLU/ReLU convs, dilation, stride, Concat, scaled Eltwise sum,
// a raw-fp32 weight blob (tag 0) and an odd fp16 weight count (exercises the 4-byte padding).
const RRDB_PARAM = `7767517
9 11
Input        in   0 1 data
Convolution  c0   1 1 data f 0=4 1=3 4=1 5=1 6=108 9=2 -23310=1,2.000000e-01
Split        s0   1 3 f f0 f1 f2
Convolution  c1   1 1 f0 g 0=2 1=3 2=2 4=2 5=0 6=72 9=1
Concat       cat  2 1 f1 g h 0=0
Convolution  c2   1 1 h i 0=4 1=1 5=1 6=24
Eltwise      el   2 1 i f2 j 0=1 -23301=2,2.000000e-01,1.000000e+00
Convolution  c3   1 1 j k 0=3 1=3 3=2 4=1 5=1 6=108
Convolution  c4   1 1 k out 0=3 1=1 5=1 6=9
`;
const rrdb = {
  w0: exactHalfValues(108, 3),
  b0: Float32Array.from([0.1, -0.3, 0, 0.2]),
  w1: exactHalfValues(72, 4),
  w2: Float32Array.from({ length: 24 }, (_, i) => Math.cos(i) * 0.3), // stored as raw fp32: not fp16-exact on purpose
  b2: Float32Array.from([0, 0.1, 0.2, 0.3]),
  w3: exactHalfValues(108, 5),
  b3: Float32Array.from([-0.1, 0, 0.1]),
  w4: exactHalfValues(9, 6),
  b4: Float32Array.from([0.5, -0.5, 0]),
};
function rrdbReference(x: Chw): Chw {
  const f = leakyRelu(conv2d(x, rrdb.w0, rrdb.b0, 4, 3, { pad: 1 }), 0.2);
  const g = relu(conv2d(f, rrdb.w1, undefined, 2, 3, { pad: 2, dilation: 2 }));
  const i = conv2d(concat(f, g), rrdb.w2, rrdb.b2, 4, 1);
  const j = add(i, f, 0.2, 1);
  const k = conv2d(j, rrdb.w3, rrdb.b3, 3, 3, { pad: 1, stride: 2 });
  return conv2d(k, rrdb.w4, rrdb.b4, 3, 1);
}

/** c2's weights are stored as raw fp32 behind a zero tag (ncnn's other weight storage). */
function rrdbBinWithFp32Blob(): Uint8Array {
  const tag0 = new Uint8Array(4);
  return new Uint8Array(
    Buffer.concat([
      new BinWriter().fp16Weights(rrdb.w0).fp32(rrdb.b0).fp16Weights(rrdb.w1).bytes(),
      tag0,
      new BinWriter()
        .fp32(rrdb.w2)
        .fp32(rrdb.b2)
        .fp16Weights(rrdb.w3)
        .fp32(rrdb.b3)
        .fp16Weights(rrdb.w4)
        .fp32(rrdb.b4)
        .bytes(),
    ]),
  );
}

describe('ncnn → ONNX converter', () => {
  it('converts an SRVGG-style x2 net that matches a JS reference, with dynamic H/W', async () => {
    const result = convertNcnnToOnnx(SRVGG_PARAM, srvggBin(), 'mini-srvgg');
    expect(result).toMatchObject({
      inputChannels: 3,
      outputChannels: 3,
      scale: 2,
      parameterCount: 108 + 4 + 4 + 432 + 12,
    });
    expect(maxAbsDiff(await runModel(result.onnx, input), srvggReference(input))).toBeLessThan(1e-5);
    const other: Chw = { c: 3, h: 4, w: 7, data: exactHalfValues(84, 7) };
    expect(maxAbsDiff(await runModel(result.onnx, other), srvggReference(other))).toBeLessThan(1e-5);
  });

  it('converts an RRDB-style net (LeakyReLU/ReLU, dilation, stride, Concat, Eltwise coefficients, fp32 blob)', async () => {
    const result = convertNcnnToOnnx(RRDB_PARAM, rrdbBinWithFp32Blob(), 'mini-rrdb');
    expect(result.scale).toBe(0.5);
    expect(result.layerCounts).toEqual({ Input: 1, Convolution: 5, Split: 1, Concat: 1, Eltwise: 1 });
    expect(maxAbsDiff(await runModel(result.onnx, input), rrdbReference(input))).toBeLessThan(1e-5);
  });

  it('names the graph input "input" [1,3,height,width] and output "output", and is deterministic', () => {
    const a = convertNcnnToOnnx(SRVGG_PARAM, srvggBin(), 'm').onnx;
    const b = convertNcnnToOnnx(SRVGG_PARAM, srvggBin(), 'm').onnx;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const graph = decodeModel(a).graph;
    expect(graph.input.map(describeValue)).toEqual([{ name: 'input', elemType: 1, dims: [1, 3, 'height', 'width'] }]);
    expect(graph.output.map(describeValue)).toEqual([
      { name: 'output', elemType: 1, dims: [1, 3, 'out_height', 'out_width'] },
    ]);
    expect(graph.node.map((n) => n.opType)).not.toContain('Clip');
  });

  it('produces an fp16 copy with fp32 I/O that stays close to the fp32 model', async () => {
    const fp32 = convertNcnnToOnnx(SRVGG_PARAM, srvggBin(), 'm').onnx;
    const fp16 = convertModelToFp16(fp32);
    const graph = decodeModel(fp16).graph;
    expect(graph.input[0]!.type!.tensorType!.elemType).toBe(1);
    expect(graph.output[0]!.type!.tensorType!.elemType).toBe(1);
    const types = new Map(graph.initializer.map((t) => [t.name, t.dataType]));
    expect(types.get('c1.weight')).toBe(10);
    expect(types.get('up.scales')).toBe(1); // Resize scales must stay float32
    expect(graph.initializer.find((t) => t.name === 'c2.weight')!.rawData!.length).toBe(432 * 2);
    const reference = await runModel(fp32, input);
    const half = await runModel(fp16, input);
    const peak = reference.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(maxAbsDiff(half, reference)).toBeLessThan(peak * 5e-3);
    // the fp32 biases and PReLU slopes were rounded to half precision: the copy really differs
    expect(maxAbsDiff(half, reference)).toBeGreaterThan(0);
  });

  describe('refuses what it does not understand, naming the layer', () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        'unknown layer type',
        SRVGG_PARAM.replace('BinaryOp         add    2 1 d e out', 'Sigmoid add 2 1 d e out'),
        /layer "add".*unsupported layer type "Sigmoid"/,
      ],
      [
        'unknown param key',
        SRVGG_PARAM.replace('6=108', '6=108 8=1'),
        /layer "c1" \(Convolution.*parameter 8=1: unknown or unsupported parameter key/,
      ],
      [
        'unsupported param value',
        SRVGG_PARAM.replace('0=1 1=2.000000e+00', '0=2 1=2.000000e+00'),
        /layer "up" \(Interp.*parameter 0=2: only resize_type 1/,
      ],
      ['unsupported activation', SRVGG_PARAM.replace('6=432', '6=432 9=4'), /layer "c2" \(Convolution.*parameter 9=4/],
      [
        'BinaryOp other than add',
        SRVGG_PARAM.replace('2 1 d e out', '2 1 d e out 0=2'),
        /layer "add" \(BinaryOp.*parameter 0=2/,
      ],
      ['weight size mismatch', SRVGG_PARAM.replace('6=432', '6=430'), /layer "c2".*parameter 6=430/],
      ['wrong magic', SRVGG_PARAM.replace('7767517', '7767518'), /magic 7767517/],
      ['layer count mismatch', SRVGG_PARAM.replace('8 9', '9 9'), /declares 9 layers/],
      ['undefined blob', SRVGG_PARAM.replace('1 1 b c', '1 1 zz c'), /reads blob "zz"/],
      ['malformed array', SRVGG_PARAM.replace('6=432', '6=432 -23310=2,0.2'), /declares 2 values but has 1/],
    ];
    for (const [what, param, message] of cases) {
      it(what, () => {
        expect(() => convertNcnnToOnnx(param, srvggBin())).toThrow(message);
      });
    }

    it('a truncated .bin, naming the layer that ran out', () => {
      const bin = srvggBin();
      expect(() => convertNcnnToOnnx(SRVGG_PARAM, bin.subarray(0, bin.length - 4))).toThrow(
        /layer "c2" \(Convolution\) bias needs 48 bytes.*truncated/,
      );
    });

    it('a .bin with bytes left over', () => {
      const bin = new Uint8Array([...srvggBin(), 0, 0, 0, 0]);
      expect(() => convertNcnnToOnnx(SRVGG_PARAM, bin)).toThrow(/4 bytes left over/);
    });

    it('an unknown weight storage tag', () => {
      const bin = srvggBin();
      new DataView(bin.buffer).setUint32(0, 0x000d4b38, true); // ncnn int8 storage
      expect(() => convertNcnnToOnnx(SRVGG_PARAM, bin)).toThrow(
        /layer "c1".*unsupported weight storage tag 0x000d4b38/,
      );
    });
  });
});
