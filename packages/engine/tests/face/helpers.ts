import { fileURLToPath } from 'node:url';
import type { PlanarImage } from '@photoenhance/image';
import { ensureModel, OnnxGraphBuilder } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

export const FIXTURES = fileURLToPath(new URL('../fixtures/faces/', import.meta.url));

/** A fixture (or any sharp input) as planar RGB [0,1]; grey files are expanded to RGB. */
export async function loadPlanar(
  input: string | Buffer,
  resize?: { width: number; height: number },
): Promise<PlanarImage> {
  let p = sharp(input).removeAlpha().toColourspace('srgb');
  if (resize) p = p.resize(resize.width, resize.height, { fit: 'fill' });
  const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
  return rawToPlanar(data, info.width, info.height, info.channels);
}

export function rawToPlanar(data: Uint8Array, width: number, height: number, channels: number): PlanarImage {
  const n = width * height;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++) out[c * n + i] = data[i * channels + (channels === 1 ? 0 : c)]! / 255;
  return { width, height, channels: 3, data: out };
}

export function clonePlanar(image: PlanarImage): PlanarImage {
  return { ...image, data: new Float32Array(image.data) };
}

export function pixel(image: PlanarImage, x: number, y: number): [number, number, number] {
  const n = image.width * image.height;
  const i = Math.floor(y) * image.width + Math.floor(x);
  return [image.data[i]!, image.data[n + i]!, image.data[2 * n + i]!];
}

/** The BlazeFace back model from the models cache (prepared on first use, sha256-checked). */
export async function blazefacePath(): Promise<string> {
  return (await ensureModel('blazeface-back')).path;
}

export async function openDetector(): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(await blazefacePath(), { intraOpNumThreads: 2, logSeverityLevel: 3 });
}

/**
 * Test restorers of any face size (GFPGAN's 512 unless given: GPEN-BFR has 256, 1024 and 2048); batch 'N'
 * gives a dynamic batch dimension.
 */
export function identityRestorerBytes(batch: 1 | 'N' = 1, size = 512): Uint8Array {
  return new OnnxGraphBuilder('identity-restorer')
    .input('input', [batch, 3, size, size])
    .output('output', [batch, 3, size, size])
    .node('Identity', ['input'], ['output'])
    .toBytes();
}

/** Ignores its input (except for the shape) and paints every face pure red: [1, -1, -1] in model range. */
export function solidRedRestorerBytes(batch: 1 | 'N' = 1, size = 512): Uint8Array {
  return new OnnxGraphBuilder('red-restorer')
    .input('input', [batch, 3, size, size])
    .output('output', [batch, 3, size, size])
    .initializer('zero', [1], new Float32Array([0]))
    .initializer('red', [1, 3, 1, 1], new Float32Array([1, -1, -1]))
    .node('Mul', ['input', 'zero'], ['blank'])
    .node('Add', ['blank', 'red'], ['output'])
    .toBytes();
}

export async function sessionFrom(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 2, logSeverityLevel: 3 });
}

/**
 * A wide "group photo": five copies of the astronaut's head, every other one mirrored, about 3.9 % of the
 * long side each, on the grass texture. Returns the expected eye centres, derived from the eye positions
 * measured by eye on astronaut.jpg through the same crop, scale and mirror.
 */
export async function syntheticGroup(): Promise<{ image: PlanarImage; eyes: [[number, number], [number, number]][] }> {
  const W = 1024;
  const H = 320;
  const head = { left: 150, top: 40, width: 150, height: 160 };
  const hw = 56;
  const hh = 60;
  const kx = hw / head.width;
  const ky = hh / head.height;
  const patch = await sharp(`${FIXTURES}astronaut.jpg`).extract(head).resize(hw, hh).raw().toBuffer();
  const mirrored = await sharp(patch, { raw: { width: hw, height: hh, channels: 3 } })
    .flop()
    .raw()
    .toBuffer();
  const background = await sharp(`${FIXTURES}grass.jpg`).resize(W, H, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const places = [40, 250, 480, 700, 900].map((left, i) => ({
    left,
    top: 60 + ((i * 37) % 150),
    mirrored: i % 2 === 1,
  }));
  const { data } = await sharp(background, { raw: { width: W, height: H, channels: 3 } })
    .composite(
      places.map((p) => ({
        input: p.mirrored ? mirrored : patch,
        raw: { width: hw, height: hh, channels: 3 },
        left: p.left,
        top: p.top,
      })),
    )
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const eyes = places.map((p) => {
    const local = ASTRONAUT_EYES.map(([x, y]) => [(x - head.left) * kx, (y - head.top) * ky] as [number, number]);
    // Mirroring swaps which eye is on the image-left.
    const ordered = p.mirrored
      ? [
          [hw - local[1]![0], local[1]![1]],
          [hw - local[0]![0], local[0]![1]],
        ]
      : local;
    return ordered.map(([x, y]) => [x! + p.left, y! + p.top]) as [[number, number], [number, number]];
  });
  return { image: rawToPlanar(data, W, H, 3), eyes };
}

/**
 * Eye centres on astronaut.jpg (512×512), read by eye on a 5× zoom with a 10 px grid: image-left eye,
 * image-right eye. Mouth centre (between the lips) and nose tip for completeness.
 */
export const ASTRONAUT_EYES: [number, number][] = [
  [204, 101],
  [245, 102.5],
];
export const ASTRONAUT_MOUTH: [number, number] = [223, 146];
