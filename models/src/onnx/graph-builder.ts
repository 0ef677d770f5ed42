/**
 * A tiny ONNX graph builder: enough to emit the feed-forward CNNs we convert from ncnn (and small test
 * graphs) as a serialized ModelProto that onnxruntime loads directly. Tensors are stored as raw
 * little-endian bytes so the output is byte-for-byte deterministic for the same calls.
 */
import {
  AttributeType,
  DataType,
  type IAttributeProto,
  type INodeProto,
  type ITensorProto,
  type IValueInfoProto,
  onnx,
} from './proto.ts';

/** A float attribute that must stay FLOAT even when its value is an integer (e.g. alpha=1). */
export interface FloatAttr {
  float: number;
}

/** Integers become INT/INTS, non-integers FLOAT/FLOATS, Float32Array always FLOATS; use floatAttr() to force FLOAT. */
export type AttrValue = number | number[] | string | Float32Array | FloatAttr;

export type ElemType = 'float' | 'float16';

export function floatAttr(v: number): FloatAttr {
  return { float: v };
}

const ELEM_TYPE: Record<ElemType, number> = { float: DataType.FLOAT, float16: DataType.FLOAT16 };

/** ir_version 8 is what onnxruntime 1.x accepts for opset 17 (IR 8 = ONNX 1.10–1.12). */
const IR_VERSION = 8;

export class OnnxGraphBuilder {
  private readonly graphName: string;
  private readonly opsetVersion: number;
  private readonly inputs: IValueInfoProto[] = [];
  private readonly outputs: IValueInfoProto[] = [];
  private readonly initializers: ITensorProto[] = [];
  private readonly nodes: INodeProto[] = [];
  private readonly names = new Set<string>();

  constructor(graphName: string, opsetVersion = 17) {
    this.graphName = graphName;
    this.opsetVersion = opsetVersion;
  }

  input(name: string, dims: (number | string)[], elemType: ElemType = 'float'): this {
    this.claim(name);
    this.inputs.push(valueInfo(name, dims, elemType));
    return this;
  }

  output(name: string, dims: (number | string)[], elemType: ElemType = 'float'): this {
    this.outputs.push(valueInfo(name, dims, elemType));
    return this;
  }

  /** number[] data is stored as int64 (shapes, axes); Float32Array as float; Int64Array as int64. */
  initializer(name: string, dims: number[], data: Float32Array | BigInt64Array | number[]): this {
    this.claim(name);
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      throw new Error(`initializer "${name}": ${data.length} values for dims [${dims.join(',')}] (expected ${count})`);
    }
    this.initializers.push(tensorProto(name, dims, data));
    return this;
  }

  node(
    opType: string,
    inputs: string[],
    outputs: string[],
    attrs: Record<string, AttrValue> = {},
    name?: string,
  ): this {
    for (const out of outputs) this.claim(out);
    const attribute = Object.entries(attrs).map(([key, value]) => attributeProto(key, value));
    this.nodes.push({
      opType,
      input: inputs,
      output: outputs,
      attribute,
      name: name ?? `${opType}_${this.nodes.length}`,
    });
    return this;
  }

  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'photoenhance-models',
      producerVersion: '1',
      opsetImport: [{ domain: '', version: this.opsetVersion }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** Tensor names must be unique in an ONNX graph (SSA); catching duplicates here names the culprit. */
  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX graph "${this.graphName}": tensor name "${name}" defined twice`);
    this.names.add(name);
  }
}

function valueInfo(name: string, dims: (number | string)[], elemType: ElemType): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE[elemType],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function tensorProto(name: string, dims: number[], data: Float32Array | BigInt64Array | number[]): ITensorProto {
  if (data instanceof Float32Array) {
    return { name, dims, dataType: DataType.FLOAT, rawData: littleEndianBytes(data) };
  }
  const ints =
    data instanceof BigInt64Array
      ? data
      : BigInt64Array.from(data, (v) => {
          if (!Number.isSafeInteger(v))
            throw new Error(`initializer "${name}": ${v} is not an integer (number[] data is int64)`);
          return BigInt(v);
        });
  return { name, dims, dataType: DataType.INT64, rawData: littleEndianBytes(ints) };
}

/** ONNX raw_data is little-endian; copy through a DataView so the bytes do not depend on the host. */
export function littleEndianBytes(data: Float32Array | BigInt64Array | Uint16Array): Uint8Array {
  const out = new Uint8Array(data.length * data.BYTES_PER_ELEMENT);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  else if (data instanceof BigInt64Array) for (let i = 0; i < data.length; i++) view.setBigInt64(i * 8, data[i]!, true);
  else for (let i = 0; i < data.length; i++) view.setUint16(i * 2, data[i]!, true);
  return out;
}

function attributeProto(name: string, value: AttrValue): IAttributeProto {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { name, type: AttributeType.INT, i: value }
      : { name, type: AttributeType.FLOAT, f: value };
  }
  if (value instanceof Float32Array) return { name, type: AttributeType.FLOATS, floats: Array.from(value) };
  if (Array.isArray(value)) {
    return value.every(Number.isInteger)
      ? { name, type: AttributeType.INTS, ints: value }
      : { name, type: AttributeType.FLOATS, floats: value };
  }
  return { name, type: AttributeType.FLOAT, f: value.float };
}
