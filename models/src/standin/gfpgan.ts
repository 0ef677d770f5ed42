/**
 * A same-architecture stand-in for GFPGAN v1.4 (GFPGANv1Clean: channel multiplier 2, 512 output,
 * different_w, input_is_latent, sft_half), with seeded random weights. Its output is NOISE, not faces:
 * it exists so the cost, memory and operator behaviour of a real restorer can be exercised where the
 * published weights cannot be downloaded. Never use it for quality claims.
 *
 * The graph is written op for op the way torch.onnx (opset 17, traced with batch 1) exports the
 * reference PyTorch code (gfpgan/archs/gfpganv1_clean_arch.py and stylegan2_clean_arch.py, read, not
 * vendored): nn.Linear → Gemm, F.interpolate(bilinear, align_corners=False) → Resize (linear,
 * pytorch_half_pixel), and the modulated convolution as weight × style → Pow/ReduceSum/Add/Sqrt/
 * Reciprocal demodulation → Reshape → Conv (groups = batch = 1). Two choices differ from a default
 * export, both on purpose: the stored noise buffers are used (randomize_noise=False) so runs are
 * deterministic, and the unused parts (style MLP, intermediate toRGB heads) are absent, as in the
 * published exports (95 Conv, 42 Resize, 24 Gemm).
 *
 * Weights are uniform with the variance of the upstream initialisers (deterministic: mulberry32 and
 * plain arithmetic only, so the file's sha256 can be pinned).
 */
import { type AttrValue, floatAttr, OnnxGraphBuilder } from '../onnx/graph-builder.ts';
import { mulberry32 } from '../random.ts';

export interface GfpganStandinOptions {
  /** Output (and input) side; a power of two ≥ 8. GFPGAN v1.4: 512. */
  size?: number;
  /**
   * Faces per run. torch.onnx bakes the batch into the modulated convolutions (groups = batch), so an
   * export has a fixed batch; > 1 is for measuring batched runs. The weights do not depend on it.
   */
  batch?: number;
  /** Channel narrowing of the whole network (upstream `narrow`); < 1 gives small test networks. */
  narrow?: number;
  channelMultiplier?: number;
  seed?: number;
  inputName?: string;
  outputName?: string;
}

export interface GfpganStandin {
  onnx: Uint8Array;
  /** Weights in the file (noise buffers included). */
  params: number;
  /** Multiply-adds × 2 of every Conv and Gemm for one face. */
  flops: number;
  opCounts: Record<string, number>;
}

const STYLE = 512;
const LEAK = 0.2;

export function buildGfpganStandin(options: GfpganStandinOptions = {}): GfpganStandin {
  const size = options.size ?? 512;
  const logSize = Math.log2(size);
  if (!Number.isInteger(logSize) || logSize < 3) throw new Error(`stand-in size ${size} is not a power of two ≥ 8`);
  const narrow = options.narrow ?? 1;
  const b = options.batch ?? 1;
  const mult = options.channelMultiplier ?? 2;
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  const rand = mulberry32(options.seed ?? 0x6f9a);
  const g = new OnnxGraphBuilder('gfpgan-v1-clean-standin');
  let params = 0;
  let flops = 0;
  const opCounts: Record<string, number> = {};
  let seq = 0;
  const fresh = (hint: string) => `${hint}_${seq++}`;
  const op = (type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint = type) => {
    const out = fresh(hint);
    g.node(type, inputs, [out], attrs);
    opCounts[type] = (opCounts[type] ?? 0) + 1;
    return out;
  };
  /** Uniform in ±std·√3: the variance of randn·std without transcendental functions. */
  const weights = (name: string, dims: number[], std: number, mean = 0) => {
    const count = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    const half = std * Math.sqrt(3);
    for (let i = 0; i < count; i++) data[i] = mean + (rand() * 2 - 1) * half;
    g.initializer(name, dims, data);
    params += count;
    return name;
  };
  const ints = (values: number[]) => {
    const name = fresh('const');
    g.initializer(name, [values.length], values);
    return name;
  };
  const scalar = (v: number) => {
    const name = fresh('scalar');
    g.initializer(name, [], Float32Array.of(v));
    return name;
  };
  const scalesUp = fresh('scales_up');
  g.initializer(scalesUp, [4], Float32Array.of(1, 1, 2, 2));
  const scalesDown = fresh('scales_down');
  g.initializer(scalesDown, [4], Float32Array.of(1, 1, 0.5, 0.5));
  const resize = (x: string, up: boolean) =>
    op('Resize', [x, '', up ? scalesUp : scalesDown], {
      mode: 'linear',
      coordinate_transformation_mode: 'pytorch_half_pixel',
      nearest_mode: 'floor',
      cubic_coeff_a: floatAttr(-0.75),
    });
  const leaky = (x: string) => op('LeakyRelu', [x], { alpha: floatAttr(LEAK) });

  /** nn.Conv2d with PyTorch's default init (kaiming_uniform a=√5: bound 1/√fan_in). */
  const conv = (x: string, cin: number, cout: number, k: number, res: number, bias = true, name = 'conv') => {
    const fanIn = cin * k * k;
    const std = 1 / Math.sqrt(3 * fanIn);
    const w = weights(fresh(`${name}.weight`), [cout, cin, k, k], std);
    const inputs = [x, w];
    if (bias) inputs.push(weights(fresh(`${name}.bias`), [cout], std));
    flops += 2 * cout * fanIn * res * res;
    const p = (k - 1) / 2;
    return op('Conv', inputs, {
      dilations: [1, 1],
      group: 1,
      kernel_shape: [k, k],
      pads: [p, p, p, p],
      strides: [1, 1],
    });
  };
  const linear = (x: string, fin: number, fout: number, name: string, biasMean = 0, std = 1 / Math.sqrt(3 * fin)) => {
    const w = weights(fresh(`${name}.weight`), [fout, fin], std);
    const b =
      biasMean === 0
        ? weights(fresh(`${name}.bias`), [fout], std)
        : weights(fresh(`${name}.bias`), [fout], 0.1, biasMean);
    flops += 2 * fin * fout;
    return op('Gemm', [x, w, b], { alpha: floatAttr(1), beta: floatAttr(1), transB: 1 });
  };

  // At least one channel: a narrowed network at a large size (a 1024 test restorer) would otherwise have none.
  const unet = (res: number) => Math.max(1, Math.floor((res <= 32 ? 512 : (512 * 32 * mult) / res) * narrow * 0.5));
  const dec = (res: number) => Math.max(1, Math.floor((res <= 32 ? 512 : (512 * 32 * mult) / res) * narrow));

  /** ResBlock: conv → lrelu → resample → conv → lrelu, plus resample → 1×1 skip. */
  const resBlock = (x: string, cin: number, cout: number, res: number, up: boolean) => {
    const next = up ? res * 2 : res / 2;
    let out = leaky(conv(x, cin, cin, 3, res));
    out = resize(out, up);
    out = leaky(conv(out, cin, cout, 3, next));
    const skip = conv(resize(x, up), cin, cout, 1, next, false, 'skip');
    return op('Add', [out, skip]);
  };

  /**
   * ModulatedConv2d (batch 1): style = Linear(latent); w = weight × style; optionally demodulated by
   * rsqrt(Σ w² + 1e-8) per output channel; conv with the per-run weight.
   */
  const modulatedConv = (
    x: string,
    latent: string,
    cin: number,
    cout: number,
    k: number,
    res: number,
    demodulate: boolean,
    upsample: boolean,
  ) => {
    const style = linear(latent, STYLE, cin, 'modulation', 1, 1 / Math.sqrt(STYLE));
    const style5 = op('Reshape', [style, ints([b, 1, cin, 1, 1])]);
    const base = weights(fresh('modulated.weight'), [1, cout, cin, k, k], 1 / Math.sqrt(cin * k * k));
    let w = op('Mul', [base, style5]);
    if (demodulate) {
      const sq = op('Pow', [w, scalar(2)]);
      const sum = op('ReduceSum', [sq, ints([2, 3, 4])], { keepdims: 0 });
      const rs = op('Reciprocal', [op('Sqrt', [op('Add', [sum, scalar(1e-8)])])]);
      w = op('Mul', [w, op('Reshape', [rs, ints([b, cout, 1, 1, 1])])]);
    }
    const w4 = op('Reshape', [w, ints([b * cout, cin, k, k])]);
    const outRes = upsample ? res * 2 : res;
    const xin = op('Reshape', [upsample ? resize(x, true) : x, ints([1, b * cin, outRes, outRes])]);
    flops += 2 * cout * cin * k * k * outRes * outRes;
    const p = (k - 1) / 2;
    const y = op('Conv', [xin, w4], {
      dilations: [1, 1],
      group: b,
      kernel_shape: [k, k],
      pads: [p, p, p, p],
      strides: [1, 1],
    });
    return op('Reshape', [y, ints([b, cout, outRes, outRes])]);
  };

  let noiseIndex = 0;
  const styleConv = (x: string, latent: string, cin: number, cout: number, res: number, upsample: boolean) => {
    const outRes = upsample ? res * 2 : res;
    let out = op('Mul', [modulatedConv(x, latent, cin, cout, 3, res, true, upsample), scalar(Math.SQRT2)]);
    const noise = weights(`noise${noiseIndex++}`, [1, 1, outRes, outRes], 1);
    const strength = weights(fresh('noise_strength'), [1], 0.05);
    out = op('Add', [out, op('Mul', [strength, noise])]);
    out = op('Add', [out, weights(fresh('activate.bias'), [1, cout, 1, 1], 0.05)]);
    return leaky(out);
  };
  const toRgb = (x: string, latent: string, cin: number, res: number, skip?: string) => {
    let out = op('Add', [
      modulatedConv(x, latent, cin, 3, 1, res, false, false),
      weights(fresh('to_rgb.bias'), [1, 3, 1, 1], 0.05),
    ]);
    if (skip) out = op('Add', [out, resize(skip, true)]);
    return out;
  };

  // ---- U-Net encoder
  g.input(inputName, [b, 3, size, size]);
  let feat = leaky(conv(inputName, 3, unet(size), 1, size));
  const skips: string[] = [];
  for (let res = size; res > 4; res /= 2) {
    feat = resBlock(feat, unet(res), unet(res / 2), res, false);
    skips.unshift(feat);
  }
  feat = leaky(conv(feat, unet(4), unet(4), 3, 4));

  // ---- style code (different_w: one 512 latent per decoder layer)
  const numLatent = logSize * 2 - 2;
  const flat = op('Reshape', [feat, ints([b, unet(4) * 16])]);
  const code = op('Reshape', [
    linear(flat, unet(4) * 16, numLatent * STYLE, 'final_linear'),
    ints([b, numLatent, STYLE]),
  ]);
  const latents = Array.from({ length: numLatent }, (_, i) => {
    const index = fresh('index');
    g.initializer(index, [], [i]);
    return op('Gather', [code, index], { axis: 1 });
  });

  // ---- U-Net decoder → SFT conditions (scale, shift) per resolution
  const conditions: string[] = [];
  for (let i = 0, res = 4; res < size; i++, res *= 2) {
    feat = op('Add', [feat, skips[i]!]);
    feat = resBlock(feat, unet(res), unet(res * 2), res, true);
    const c = unet(res * 2);
    for (const _branch of ['scale', 'shift']) {
      conditions.push(conv(leaky(conv(feat, c, c, 3, res * 2)), c, c, 3, res * 2));
    }
  }

  // ---- StyleGAN2 decoder with SFT on half of the channels
  const constantInput = weights('constant_input', [1, dec(4), 4, 4], 1);
  const constant = b === 1 ? constantInput : op('Tile', [constantInput, ints([b, 1, 1, 1])]);
  let out = styleConv(constant, latents[0]!, dec(4), dec(4), 4, false);
  let skip = toRgb(out, latents[1]!, dec(4), 4);
  for (let i = 1, res = 4; res < size; i += 2, res *= 2) {
    const c = dec(res * 2);
    out = styleConv(out, latents[i]!, dec(res), c, res, true);
    const halves = [fresh('same'), fresh('sft')];
    g.node('Split', [out, ints([c / 2, c / 2])], halves, { axis: 1 });
    opCounts.Split = (opCounts.Split ?? 0) + 1;
    const sft = op('Add', [op('Mul', [halves[1]!, conditions[i - 1]!]), conditions[i]!]);
    out = op('Concat', [halves[0]!, sft], { axis: 1 });
    out = styleConv(out, latents[i + 1]!, c, c, res * 2, false);
    skip = toRgb(out, latents[i + 2]!, c, res * 2, skip);
  }
  g.node('Identity', [skip], [outputName]);
  g.output(outputName, [b, 3, size, size]);
  return { onnx: g.toBytes(), params, flops, opCounts };
}
