import type { PlanarImage } from '@photoenhance/image';
import { ensureModel } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ModelSession, wrapSession } from '../../src/runtime/model-session.ts';
import { upscaleImage } from '../../src/upscale/upscaler.ts';
import { columnSeamRatio, smoothImage, transpose } from './test-models.ts';

/** Mean of each 4×4 block: the output brought back to input size. */
function boxDown(image: PlanarImage, factor: number): Float32Array {
  const w = image.width / factor;
  const h = image.height / factor;
  const out = new Float32Array(w * h * 3);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < image.height; y++)
      for (let x = 0; x < image.width; x++)
        out[c * w * h + Math.floor(y / factor) * w + Math.floor(x / factor)]! +=
          image.data[c * image.width * image.height + y * image.width + x]! / (factor * factor);
  return out;
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('upscaleImage with the real realesrgan-x4fast', () => {
  let model: ModelSession;
  const image = smoothImage(96, 64);
  let whole: PlanarImage;

  beforeAll(async () => {
    const { path } = await ensureModel('realesrgan-x4fast');
    model = wrapSession('realesrgan-x4fast', await ort.InferenceSession.create(path, { intraOpNumThreads: 1 }), 'cpu');
    whole = await upscaleImage(model, image, 4, { tileSize: 0, tilePad: 10 });
  });

  it('upscales ×4 into [0, 1] keeping the picture (planes in RGB order, nothing shifted)', async () => {
    expect([whole.width, whole.height]).toEqual([384, 256]);
    expect(whole.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    // Each plane its own clean pattern: R ramps across, G ramps down, B is flat.
    const [w, h] = [80, 48];
    const planes = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        planes[y * w + x] = 0.1 + (0.8 * x) / w;
        planes[w * h + y * w + x] = 0.1 + (0.8 * y) / h;
        planes[2 * w * h + y * w + x] = 0.3;
      }
    const up = await upscaleImage(model, { width: w, height: h, channels: 3, data: planes }, 4, {
      tileSize: 32,
      tilePad: 10,
    });
    const down = boxDown(up, 4);
    for (let c = 0; c < 3; c++) {
      const plane = (a: Float32Array, k: number) => a.subarray(k * w * h, (k + 1) * w * h);
      expect(meanAbsDiff(plane(down, c), plane(planes, c))).toBeLessThan(0.03);
      expect(meanAbsDiff(plane(down, c), plane(planes, (c + 1) % 3))).toBeGreaterThan(0.1);
    }
  });

  it('tiles with pad 10 blend into the whole-image result without seams', async () => {
    const tiled = await upscaleImage(model, image, 4, { tileSize: 32, tilePad: 10 });
    let max = 0;
    for (let i = 0; i < tiled.data.length; i++) max = Math.max(max, Math.abs(tiled.data[i]! - whole.data[i]!));
    // The net's receptive field is wider than 10 px, so tiles differ slightly (measured ≈ 1.4/255 max).
    expect(max).toBeLessThan(0.02);
    expect(meanAbsDiff(tiled.data, whole.data)).toBeLessThan(0.001);
    expect(columnSeamRatio(tiled, [128, 256], 4)).toBeLessThan(1.15);
    expect(columnSeamRatio(transpose(tiled), [128], 4)).toBeLessThan(1.15);
  });

  it('the seam detector sees the tile edges of a context-free cut', async () => {
    const cut = await upscaleImage(model, image, 4, { tileSize: 32, tilePad: 0 });
    expect(columnSeamRatio(cut, [128, 256], 4)).toBeGreaterThan(2);
  });
});
