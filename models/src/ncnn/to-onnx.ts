/**
 * ncnn (.param + .bin) → ONNX fp32 converter for the feed-forward super-resolution nets we ship
 * (Real-ESRGAN SRVGGNetCompact and RRDBNet exports). It supports exactly the layers and parameters
 * those use and refuses everything else by layer name: a silently wrong model is worse than none.
 *
 * Graph contract: input "input" NCHW [1,C,'height','width'], output "output" [1,C',…]. No clamp is
 * added (the engine clamps). The output is deterministic: same files in, same bytes out.
 *
 * PReLU has two encodings (see NcnnConvertOptions.prelu): the ONNX PRelu op, or — the default, for
 * onnxruntime's CPU provider — ops its blocked-layout (NCHWc) optimizer keeps in that layout.
 */
import { floatAttr, OnnxGraphBuilder } from '../onnx/graph-builder.ts';
import { NcnnBinReader } from './bin.ts';
import { NcnnFormatError, type NcnnLayer, type NcnnParamValue, parseNcnnParam } from './param.ts';

export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'output';

/**
 * How PReLU layers are written.
 * - 'prelu': one ONNX PRelu node. Best for GPU providers; on onnxruntime's CPU provider PRelu is not
 *   covered by the NCHWc layout transformer, so every PReLU costs a reorder out of and back into the
 *   blocked layout around it.
 * - 'depthwise': per-channel-slope layers become two 1×1 depthwise convolutions, one with a fused Relu,
 *   summed (see emitDepthwisePrelu); onnxruntime fuses all of it into its NCHWc convolutions.
 *   A single shared slope becomes LeakyRelu (fused into the preceding convolution).
 */
export type PreluForm = 'prelu' | 'depthwise';

export interface NcnnConvertOptions {
  graphName?: string;
  /** Default 'depthwise'. */
  prelu?: PreluForm;
}

export interface NcnnConversion {
  onnx: Uint8Array;
  inputChannels: number;
  outputChannels: number;
  /** Output size / input size (e.g. 4 for an x4 upscaler). */
  scale: number;
  /** Number of weights and biases (fp32 parameters). */
  parameterCount: number;
  layerCounts: Record<string, number>;
}

interface TensorInfo {
  /** ONNX tensor name (Split outputs alias their input; no node is emitted for Split). */
  name: string;
  channels: number | undefined;
  /** Spatial size relative to the graph input. */
  scale: number;
  /**
   * ±1 per channel: the tensor holds sign·value, and its consumers (convolutions only) multiply the
   * matching weight columns by the sign to undo it. Set by the depthwise PReLU encoding.
   */
  channelSigns?: Float32Array;
}

export function convertNcnnToOnnx(
  paramText: string,
  bin: Uint8Array,
  graphNameOrOptions: string | NcnnConvertOptions = {},
): NcnnConversion {
  const options = typeof graphNameOrOptions === 'string' ? { graphName: graphNameOrOptions } : graphNameOrOptions;
  const preluForm = options.prelu ?? 'depthwise';
  const { layers } = parseNcnnParam(paramText);
  const reader = new NcnnBinReader(bin);
  const g = new OnnxGraphBuilder(options.graphName ?? 'ncnn', 17);
  const tensors = new Map<string, TensorInfo>();
  const consumed = new Set<string>();
  for (const layer of layers) for (const input of layer.inputs) consumed.add(input);
  const convolutionOnly = blobsReadOnlyByConvolutions(layers);
  const terminal = layers.flatMap((l) => l.outputs).filter((b) => !consumed.has(b));
  if (terminal.length !== 1) {
    throw new NcnnFormatError(
      `ncnn graph must have exactly one output blob, found ${terminal.length}: ${terminal.join(', ')}`,
    );
  }
  const outputBlob = terminal[0]!;
  let inputInfo: TensorInfo | undefined;
  let parameterCount = 0;
  const layerCounts: Record<string, number> = {};

  const getAny = (blob: string): TensorInfo => tensors.get(blob)!; // the parser guarantees definition before use
  /** Every consumer except Convolution must see true values (channelSigns are for convolutions only). */
  const get = (blob: string): TensorInfo => {
    const info = getAny(blob);
    if (info.channelSigns) throw new Error(`converter bug: sign-flipped blob "${blob}" read by a non-convolution`);
    return info;
  };
  const define = (blob: string, info: Omit<TensorInfo, 'name'>): string => {
    const name = blob === outputBlob ? OUTPUT_NAME : blob;
    if (name === INPUT_NAME && blob !== outputBlob)
      throw new NcnnFormatError(`blob name "${INPUT_NAME}" is reserved for the graph input`);
    tensors.set(blob, { channels: info.channels, scale: info.scale, name });
    return name;
  };

  for (const layer of layers) {
    layerCounts[layer.type] = (layerCounts[layer.type] ?? 0) + 1;
    const p = new LayerParams(layer);
    switch (layer.type) {
      case 'Input': {
        p.allow(0, 1, 2); // w, h, c: sizes are dynamic in the ONNX graph
        expectArity(layer, 0, 1);
        if (inputInfo) throw new NcnnFormatError(`layer "${layer.name}": a second Input layer is not supported`);
        const channels = p.int(2, 0) || undefined;
        inputInfo = { name: INPUT_NAME, channels, scale: 1 };
        tensors.set(layer.outputs[0]!, inputInfo);
        break;
      }
      case 'Split': {
        p.allow();
        expectArity(layer, 1, layer.outputs.length);
        for (const out of layer.outputs) tensors.set(out, getAny(layer.inputs[0]!));
        break;
      }
      case 'Convolution': {
        p.allow(0, 1, 2, 3, 4, 5, 6, 9, 10);
        expectArity(layer, 1, 1);
        const numOutput = p.positiveInt(0);
        const kernel = p.positiveInt(1);
        const dilation = p.int(2, 1);
        const stride = p.int(3, 1);
        const pad = p.int(4, 0);
        const biasTerm = p.int(5, 0);
        const weightSize = p.positiveInt(6);
        const activation = p.int(9, 0);
        if (dilation < 1) p.unsupported(2, 'dilation must be ≥ 1');
        if (stride < 1) p.unsupported(3, 'stride must be ≥ 1');
        if (pad < 0) p.unsupported(4, 'negative (SAME-style) padding is not supported');
        if (biasTerm !== 0 && biasTerm !== 1) p.unsupported(5, 'bias_term must be 0 or 1');
        const inChannels = weightSize / (numOutput * kernel * kernel);
        if (!Number.isInteger(inChannels)) {
          p.unsupported(
            6,
            `weight_data_size ${weightSize} is not a multiple of num_output×kernel² = ${numOutput * kernel * kernel}`,
          );
        }
        const input = getAny(layer.inputs[0]!);
        if (input.channels === undefined) input.channels = inChannels; // first conv after Input tells its channels
        if (input.channels !== inChannels) {
          throw new NcnnFormatError(
            `layer "${layer.name}" (Convolution): weights expect ${inChannels} input channels but blob "${layer.inputs[0]}" has ${input.channels}`,
          );
        }
        const weights = reader.readTaggedWeights(weightSize, `layer "${layer.name}" (Convolution) weights`);
        if (input.channelSigns) negateInputChannels(weights, input.channelSigns, kernel * kernel);
        const wName = `${layer.name}.weight`;
        g.initializer(wName, [numOutput, inChannels, kernel, kernel], weights);
        const convInputs = [input.name, wName];
        parameterCount += weightSize;
        if (biasTerm) {
          const bias = reader.readFloat32(numOutput, `layer "${layer.name}" (Convolution) bias`);
          g.initializer(`${layer.name}.bias`, [numOutput], bias);
          convInputs.push(`${layer.name}.bias`);
          parameterCount += numOutput;
        }
        const info = { channels: numOutput, scale: input.scale / stride };
        const attrs = {
          kernel_shape: [kernel, kernel],
          pads: [pad, pad, pad, pad],
          strides: [stride, stride],
          dilations: [dilation, dilation],
        };
        if (activation === 0) {
          p.allow(0, 1, 2, 3, 4, 5, 6, 9); // activation params without an activation are a mismatch
          g.node('Conv', convInputs, [define(layer.outputs[0]!, info)], attrs, layer.name);
        } else if (activation === 1 || activation === 2) {
          const convOut = `${layer.name}.conv`;
          g.node('Conv', convInputs, [convOut], attrs, layer.name);
          const out = define(layer.outputs[0]!, info);
          if (activation === 1) {
            p.allow(0, 1, 2, 3, 4, 5, 6, 9);
            g.node('Relu', [convOut], [out], {}, `${layer.name}.relu`);
          } else {
            const slope = p.array(10);
            if (slope.length !== 1) p.unsupported(10, 'LeakyReLU expects exactly one slope');
            g.node('LeakyRelu', [convOut], [out], { alpha: floatAttr(slope[0]!) }, `${layer.name}.leakyrelu`);
          }
        } else {
          p.unsupported(9, 'only activation_type 0 (none), 1 (ReLU) and 2 (LeakyReLU) are supported');
        }
        break;
      }
      case 'PReLU': {
        p.allow(0);
        expectArity(layer, 1, 1);
        const numSlope = p.positiveInt(0);
        const input = get(layer.inputs[0]!);
        if (numSlope !== 1 && input.channels !== undefined && numSlope !== input.channels) {
          p.unsupported(0, `num_slope ${numSlope} does not match the ${input.channels} input channels`);
        }
        const slopes = reader.readFloat32(numSlope, `layer "${layer.name}" (PReLU) slopes`);
        parameterCount += numSlope;
        const outBlob = layer.outputs[0]!;
        const info = { channels: input.channels ?? (numSlope === 1 ? undefined : numSlope), scale: input.scale };
        if (preluForm === 'depthwise' && numSlope === 1) {
          // LeakyRelu is PRelu with one slope, and onnxruntime fuses it into a preceding Conv
          g.node('LeakyRelu', [input.name], [define(outBlob, info)], { alpha: floatAttr(slopes[0]!) }, layer.name);
          break;
        }
        const signs = preluForm === 'depthwise' ? depthwisePreluSigns(slopes, convolutionOnly.has(outBlob)) : undefined;
        if (signs) {
          const name = define(outBlob, info);
          emitDepthwisePrelu(g, layer.name, input.name, name, slopes, signs);
          if (signs.some((s) => s < 0)) tensors.get(outBlob)!.channelSigns = signs;
          break;
        }
        const sName = `${layer.name}.slope`;
        // ONNX PRelu broadcasts the slope against NCHW: per-channel slopes need shape [C,1,1].
        g.initializer(sName, numSlope === 1 ? [1] : [numSlope, 1, 1], slopes);
        g.node('PRelu', [input.name, sName], [define(outBlob, info)], {}, layer.name);
        break;
      }
      case 'PixelShuffle': {
        p.allow(0, 1);
        expectArity(layer, 1, 1);
        const factor = p.positiveInt(0);
        if (p.int(1, 0) !== 0) p.unsupported(1, 'only mode 0 (PyTorch order, = ONNX DepthToSpace CRD) is supported');
        const input = get(layer.inputs[0]!);
        if (input.channels !== undefined && input.channels % (factor * factor) !== 0) {
          p.unsupported(0, `${input.channels} channels are not divisible by upscale_factor² = ${factor * factor}`);
        }
        const channels = input.channels === undefined ? undefined : input.channels / (factor * factor);
        g.node(
          'DepthToSpace',
          [input.name],
          [define(layer.outputs[0]!, { channels, scale: input.scale * factor })],
          { blocksize: factor, mode: 'CRD' },
          layer.name,
        );
        break;
      }
      case 'Interp': {
        p.allow(0, 1, 2, 3, 4, 5, 6);
        expectArity(layer, 1, 1);
        if (p.int(0, 0) !== 1) p.unsupported(0, 'only resize_type 1 (nearest) is supported');
        const hScale = p.number(1, 1);
        const wScale = p.number(2, 1);
        if (p.int(3, 0) !== 0 || p.int(4, 0) !== 0)
          p.unsupported(3, 'fixed output sizes are not supported, only scales');
        if (p.int(5, 0) !== 0) p.unsupported(5, 'dynamic target size is not supported');
        if (p.int(6, 0) !== 0) p.unsupported(6, 'align_corner is not supported');
        if (!(hScale > 0) || hScale !== wScale)
          p.unsupported(1, `height_scale ${hScale} and width_scale ${wScale} must be equal and positive`);
        const input = get(layer.inputs[0]!);
        const scalesName = `${layer.name}.scales`;
        g.initializer(scalesName, [4], new Float32Array([1, 1, hScale, wScale]));
        // ncnn nearest samples src = floor(dst / scale): ONNX asymmetric + floor is the same mapping.
        g.node(
          'Resize',
          [input.name, '', scalesName],
          [define(layer.outputs[0]!, { channels: input.channels, scale: input.scale * hScale })],
          { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
          layer.name,
        );
        break;
      }
      case 'BinaryOp': {
        p.allow(0, 1);
        expectArity(layer, 2, 1);
        if (p.int(0, 0) !== 0) p.unsupported(0, 'only op_type 0 (add) is supported');
        if (p.int(1, 0) !== 0) p.unsupported(1, 'with_scalar is not supported');
        const [a, b] = layer.inputs.map(get) as [TensorInfo, TensorInfo];
        requireSameShape(layer, a, b);
        g.node('Add', [a.name, b.name], [define(layer.outputs[0]!, { ...a })], {}, layer.name);
        break;
      }
      case 'Concat': {
        p.allow(0);
        if (p.int(0, 0) !== 0) p.unsupported(0, 'only axis 0 (channels) is supported');
        expectArity(layer, layer.inputs.length, 1);
        const inputs = layer.inputs.map(get);
        const channels = inputs.every((t) => t.channels !== undefined)
          ? inputs.reduce((s, t) => s + (t.channels as number), 0)
          : undefined;
        for (const t of inputs.slice(1)) requireSameScale(layer, inputs[0]!, t);
        g.node(
          'Concat',
          inputs.map((t) => t.name),
          [define(layer.outputs[0]!, { channels, scale: inputs[0]!.scale })],
          { axis: 1 },
          layer.name,
        );
        break;
      }
      case 'Eltwise': {
        p.allow(0, 1);
        if (p.int(0, 1) !== 1) p.unsupported(0, 'only op_type 1 (sum) is supported');
        const inputs = layer.inputs.map(get);
        if (inputs.length < 2) throw new NcnnFormatError(`layer "${layer.name}" (Eltwise): needs at least two inputs`);
        expectArity(layer, inputs.length, 1);
        for (const t of inputs.slice(1)) requireSameShape(layer, inputs[0]!, t);
        const coefficients = p.has(1) ? p.array(1) : inputs.map(() => 1);
        if (coefficients.length !== inputs.length)
          p.unsupported(1, `${coefficients.length} coefficients for ${inputs.length} inputs`);
        // coeff·input for each input (a coefficient of exactly 1 needs no Mul), summed in input order
        const terms = inputs.map((t, i) => {
          const c = coefficients[i]!;
          if (c === 1) return t.name;
          const cName = `${layer.name}.coeff${i}`;
          g.initializer(cName, [1], new Float32Array([c]));
          g.node('Mul', [t.name, cName], [`${layer.name}.term${i}`], {}, `${layer.name}.mul${i}`);
          return `${layer.name}.term${i}`;
        });
        let sum = terms[0]!;
        for (let i = 1; i < terms.length; i++) {
          const out = i === terms.length - 1 ? define(layer.outputs[0]!, { ...inputs[0]! }) : `${layer.name}.sum${i}`;
          g.node('Add', [sum, terms[i]!], [out], {}, `${layer.name}.add${i}`);
          sum = out;
        }
        break;
      }
      default:
        throw new NcnnFormatError(
          `layer "${layer.name}" (.param line ${layer.line}): unsupported layer type "${layer.type}"`,
        );
    }
  }
  reader.assertFullyConsumed();

  if (!inputInfo) throw new NcnnFormatError('ncnn graph has no Input layer');
  const out = get(outputBlob);
  if (out.name !== OUTPUT_NAME) {
    // the terminal blob came straight from Input or a Split: still expose it as "output"
    g.node('Identity', [out.name], [OUTPUT_NAME], {}, 'output_identity');
  }
  if (inputInfo.channels === undefined || out.channels === undefined)
    throw new NcnnFormatError('could not determine input/output channel counts');
  g.input(INPUT_NAME, [1, inputInfo.channels, 'height', 'width']);
  g.output(OUTPUT_NAME, [1, out.channels, 'out_height', 'out_width']);
  return {
    onnx: g.toBytes(),
    inputChannels: inputInfo.channels,
    outputChannels: out.channels,
    scale: out.scale,
    parameterCount,
    layerCounts,
  };
}

/**
 * Blobs whose every reader is a Convolution (looking through Split, which only aliases): their
 * channels may be stored negated, because a convolution can take the sign back in its weights.
 */
function blobsReadOnlyByConvolutions(layers: NcnnLayer[]): Set<string> {
  const readers = new Map<string, NcnnLayer[]>();
  for (const layer of layers) {
    for (const blob of layer.inputs) readers.set(blob, [...(readers.get(blob) ?? []), layer]);
  }
  const onlyConvolutions = (blob: string): boolean => {
    const list = readers.get(blob) ?? [];
    // no readers means the graph output, which must hold true values
    return (
      list.length > 0 &&
      list.every((l) => l.type === 'Convolution' || (l.type === 'Split' && l.outputs.every(onlyConvolutions)))
    );
  };
  return new Set([...readers.keys()].filter(onlyConvolutions));
}

/**
 * Per-channel sign d for the depthwise PReLU encoding, or undefined when it cannot be used.
 *
 * The encoding computes d·PReLU(y) as γ·y + Relu(β·y) with γ = d·s, β = d·(1−s). That is exact for
 * β ≥ 0, so d = +1 serves slopes s ≤ 1 (convex PReLU) and d = −1 slopes s > 1 (concave: it is the
 * negated convex function). A negative d is only possible when every reader is a convolution, which
 * then negates the matching input channel of its weights (exact in floating point).
 */
function depthwisePreluSigns(slopes: Float32Array, readersAreConvolutions: boolean): Float32Array | undefined {
  if (!slopes.every(Number.isFinite)) return undefined;
  const signs = Float32Array.from(slopes, (s) => (s > 1 ? -1 : 1));
  return signs.some((d) => d < 0) && !readersAreConvolutions ? undefined : signs;
}

/**
 * out = γ·y + Relu(β·y), both products as 1×1 depthwise convolutions. onnxruntime's CPU provider keeps
 * the whole pattern in its blocked NCHWc layout: the Relu fuses into the β convolution and the Add into
 * the γ convolution (its "Sum" input), so no reorder to plain NCHW is needed around the activation.
 */
function emitDepthwisePrelu(
  g: OnnxGraphBuilder,
  name: string,
  input: string,
  output: string,
  slopes: Float32Array,
  signs: Float32Array,
): void {
  const channels = slopes.length;
  const beta = Float32Array.from(slopes, (s, c) => signs[c]! * (1 - s));
  const gamma = Float32Array.from(slopes, (s, c) => signs[c]! * s);
  g.initializer(`${name}.beta`, [channels, 1, 1, 1], beta);
  g.initializer(`${name}.gamma`, [channels, 1, 1, 1], gamma);
  const depthwise = { kernel_shape: [1, 1], group: channels };
  g.node('Conv', [input, `${name}.beta`], [`${name}.scaled`], depthwise, `${name}.beta_conv`);
  g.node('Relu', [`${name}.scaled`], [`${name}.relu`], {}, `${name}.relu`);
  g.node('Conv', [input, `${name}.gamma`], [`${name}.linear`], depthwise, `${name}.gamma_conv`);
  g.node('Add', [`${name}.linear`, `${name}.relu`], [output], {}, `${name}.add`);
}

/** weights [out][in][k] (k = kernel area): multiplies input channel c of every filter by signs[c]. */
function negateInputChannels(weights: Float32Array, signs: Float32Array, kernelArea: number): void {
  const inChannels = signs.length;
  for (let i = 0; i < weights.length; i++) {
    const c = Math.floor(i / kernelArea) % inChannels;
    if (signs[c]! < 0) weights[i] = -weights[i]!;
  }
}

function expectArity(layer: NcnnLayer, nIn: number, nOut: number): void {
  if (layer.inputs.length !== nIn || layer.outputs.length !== nOut) {
    throw new NcnnFormatError(
      `layer "${layer.name}" (${layer.type}): expected ${nIn} input(s) and ${nOut} output(s), found ${layer.inputs.length} and ${layer.outputs.length}`,
    );
  }
}

function requireSameScale(layer: NcnnLayer, a: TensorInfo, b: TensorInfo): void {
  if (a.scale !== b.scale)
    throw new NcnnFormatError(
      `layer "${layer.name}" (${layer.type}): inputs have different spatial sizes (×${a.scale} vs ×${b.scale})`,
    );
}

function requireSameShape(layer: NcnnLayer, a: TensorInfo, b: TensorInfo): void {
  requireSameScale(layer, a, b);
  if (a.channels !== undefined && b.channels !== undefined && a.channels !== b.channels) {
    throw new NcnnFormatError(
      `layer "${layer.name}" (${layer.type}): inputs have different channel counts (${a.channels} vs ${b.channels}); only same-shape inputs are supported`,
    );
  }
}

/** Typed access to one layer's params; every accessor failure names the layer. */
class LayerParams {
  private readonly layer: NcnnLayer;

  constructor(layer: NcnnLayer) {
    this.layer = layer;
  }

  /** Refuses any param key outside the list (keys the converter would otherwise silently ignore). */
  allow(...keys: number[]): void {
    for (const key of this.layer.params.keys()) {
      if (!keys.includes(key)) this.unsupported(key, 'unknown or unsupported parameter key');
    }
  }

  has(key: number): boolean {
    return this.layer.params.has(key);
  }

  number(key: number, fallback: number): number {
    const v = this.layer.params.get(key);
    if (v === undefined) return fallback;
    if (Array.isArray(v)) this.unsupported(key, 'expected a number, found an array');
    return v as number;
  }

  int(key: number, fallback: number): number {
    const v = this.number(key, fallback);
    if (!Number.isInteger(v)) this.unsupported(key, 'expected an integer');
    return v;
  }

  positiveInt(key: number): number {
    if (!this.layer.params.has(key)) this.unsupported(key, 'required parameter is missing');
    const v = this.int(key, 0);
    if (v <= 0) this.unsupported(key, 'expected a positive integer');
    return v;
  }

  array(key: number): number[] {
    const v = this.layer.params.get(key);
    if (!Array.isArray(v)) this.unsupported(key, 'expected an array parameter (-233xx=count,values…)');
    return v as number[];
  }

  unsupported(key: number, why: string): never {
    const v: NcnnParamValue | undefined = this.layer.params.get(key);
    const shown = v === undefined ? '(absent)' : Array.isArray(v) ? `[${v.join(',')}]` : String(v);
    throw new NcnnFormatError(
      `layer "${this.layer.name}" (${this.layer.type}, .param line ${this.layer.line}): parameter ${key}=${shown}: ${why}`,
    );
  }
}
