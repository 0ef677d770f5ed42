/**
 * Sequential reader over an ncnn .bin weight file. Layers store their data in .param order, so the
 * converter reads exactly what each layer needs and finally checks that nothing is left over.
 */
import { halfBitsToFloat } from '../onnx/float16.ts';
import { NcnnFormatError } from './param.ts';

/** Tag written before fp16 weight blobs (ncnn ModelBin "half-precision data"). */
export const NCNN_FP16_TAG = 0x01306b47;
/** A zero tag means raw fp32 data follows. */
export const NCNN_FP32_TAG = 0;

export class NcnnBinReader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  /** Untagged fp32 values (biases, PReLU slopes). */
  readFloat32(count: number, what: string): Float32Array {
    this.require(count * 4, what);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.view.getFloat32(this.offset + i * 4, true);
    this.offset += count * 4;
    return out;
  }

  /** Tagged weight blob: a 4-byte tag, then fp16 (padded to 4 bytes) or raw fp32 values. */
  readTaggedWeights(count: number, what: string): Float32Array {
    this.require(4, `${what} (weight tag)`);
    const tag = this.view.getUint32(this.offset, true);
    if (tag === NCNN_FP32_TAG) {
      this.offset += 4;
      return this.readFloat32(count, what);
    }
    if (tag !== NCNN_FP16_TAG) {
      throw new NcnnFormatError(
        `.bin: ${what}: unsupported weight storage tag 0x${tag.toString(16).padStart(8, '0')} at byte ${this.offset} (only fp16 0x01306b47 and raw fp32 are supported)`,
      );
    }
    this.offset += 4;
    const padded = Math.ceil((count * 2) / 4) * 4; // ncnn aligns fp16 blobs to 4 bytes
    this.require(padded, what);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = halfBitsToFloat(this.view.getUint16(this.offset + i * 2, true));
    this.offset += padded;
    return out;
  }

  /** Every byte must have been consumed: leftovers mean the .param and .bin do not belong together. */
  assertFullyConsumed(): void {
    if (this.offset !== this.bytes.byteLength) {
      throw new NcnnFormatError(
        `.bin: ${this.bytes.byteLength - this.offset} bytes left over after the last layer (read ${this.offset} of ${this.bytes.byteLength}); the .bin does not match the .param`,
      );
    }
  }

  private require(length: number, what: string): void {
    if (this.offset + length > this.bytes.byteLength) {
      throw new NcnnFormatError(
        `.bin: ${what} needs ${length} bytes at byte ${this.offset} but the file ends at ${this.bytes.byteLength} (truncated, or the .bin does not match the .param)`,
      );
    }
  }
}
