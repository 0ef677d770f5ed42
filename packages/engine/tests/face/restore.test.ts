import type { PlanarImage } from '@photoenhance/image';
import type { InferenceSession } from 'onnxruntime-node';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { composeScale, cropTransform, type FaceTemplate } from '../../src/face/alignment.ts';
import {
  type DetectedFace,
  detectFaces,
  estimateAlignment,
  loadRestorer,
  NO_RESTORER_NOTICE,
  type Restorer,
  restoreFaces,
} from '../../src/face/index.ts';
import { maskWeightAt } from '../../src/face/paste.ts';
import {
  clonePlanar,
  FIXTURES,
  identityRestorerBytes,
  loadPlanar,
  openDetector,
  pixel,
  rawToPlanar,
  sessionFrom,
  solidRedRestorerBytes,
  syntheticGroup,
} from './helpers.ts';

const DETECT = { onlyCenterFace: false, maxFaces: 20, minFaceSize: 8 };
const FULL = { blend: 1, fidelity: 0.5 };

/** A plain Lanczos resize: what the engine passes when the background upsampler is off. */
async function resized(image: PlanarImage, factor: number): Promise<PlanarImage> {
  const n = image.width * image.height;
  const raw = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) raw[i * 3 + c] = Math.round(image.data[c * n + i]! * 255);
  const w = image.width * factor;
  const h = image.height * factor;
  const { data } = await sharp(raw, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(w, h)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return rawToPlanar(data, w, h, 3);
}

/** Values that differ (vitest's deep equality is far too slow on megapixel arrays). */
function differences(a: Float32Array, b: Float32Array): number {
  let n = a.length === b.length ? 0 : Number.POSITIVE_INFINITY;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

function uniform(width: number, height: number, value: number): PlanarImage {
  return { width, height, channels: 3, data: new Float32Array(width * height * 3).fill(value) };
}

/** Crop coordinates of a canvas pixel centre, for a face pasted at `factor` from a size × size crop. */
function templateOf(
  face: DetectedFace,
  factor: number,
  size: number,
  template: FaceTemplate,
  x: number,
  y: number,
): [number, number] {
  const m = composeScale(cropTransform(estimateAlignment(face, template).matrix, size), 1 / factor);
  const px = x + 0.5;
  const py = y + 0.5;
  return [m[0] * px + m[1] * py + m[2], m[3] * px + m[4] * py + m[5]];
}

describe('restoreFaces', () => {
  let detector: InferenceSession;
  let portrait: PlanarImage; // astronaut, 512²
  let small: PlanarImage; // astronaut, 256²
  let portraitFaces: DetectedFace[];
  let smallFaces: DetectedFace[];
  let red: Restorer;

  beforeAll(async () => {
    detector = await openDetector();
    portrait = await loadPlanar(`${FIXTURES}astronaut.jpg`);
    small = await loadPlanar(`${FIXTURES}astronaut.jpg`, { width: 256, height: 256 });
    portraitFaces = (await detectFaces(detector, portrait, DETECT)).faces;
    smallFaces = (await detectFaces(detector, small, DETECT)).faces;
    expect(portraitFaces).toHaveLength(1);
    expect(smallFaces).toHaveLength(1);
    red = await loadRestorer(await sessionFrom(solidRedRestorerBytes()), {}, 'red');
  });

  it('without a restorer returns the image untouched and says plainly how to install one', async () => {
    const upscaled = await resized(small, 2);
    const before = new Float32Array(upscaled.data);
    const { image, report } = await restoreFaces({
      original: small,
      upscaled,
      factor: 2,
      faces: smallFaces,
      options: FULL,
    });
    expect(image).toBe(upscaled);
    expect(differences(image.data, before)).toBe(0);
    expect(report).toMatchObject({ detected: 1, restored: 0 });
    expect(report.notice).toBe(NO_RESTORER_NOTICE);
    expect(report.notice).toContain('NOT restored');
    expect(report.notice).toContain('npm run models -- --with gfpgan-1.4');
    expect(report.notice).toContain('--face-model path.onnx');
  });

  // GFPGAN's 512, and GPEN-BFR's other sides (256 on its own arcface-128 template): the same face, the same paste.
  it.each([
    [512, 'ffhq'],
    [256, 'ffhq'],
    [1024, 'ffhq'],
    [256, 'arcface-128'],
  ] as const)(
    'paints the face with a solid-colour %i restorer (%s template), and nothing outside the face',
    async (size, template) => {
      const factor = 2;
      const restorer =
        size === 512 && template === 'ffhq'
          ? red
          : await loadRestorer(await sessionFrom(solidRedRestorerBytes(1, size)), {}, 'red', { template });
      expect(restorer.faceSize).toBe(size);
      const upscaled = await resized(small, factor);
      const before = clonePlanar(upscaled);
      const { report } = await restoreFaces({
        original: small,
        upscaled,
        factor,
        faces: smallFaces,
        restorer,
        options: FULL,
      });
      expect(report).toMatchObject({ detected: 1, restored: 1, model: 'red', skipped: [] });

      const face = smallFaces[0]!;
      // Eyes, nose and mouth (scaled to the canvas) are pure red now.
      for (const [x, y] of face.keypoints.slice(0, 4)) {
        const [r, g, b] = pixel(upscaled, x * factor, y * factor);
        expect(r).toBeGreaterThan(0.97);
        expect(g).toBeLessThan(0.03);
        expect(b).toBeLessThan(0.03);
      }
      // The inner half of the detected box is red throughout.
      const [bx, by, bw, bh] = face.box.map((v) => v * factor) as [number, number, number, number];
      for (let y = Math.ceil(by + bh / 4); y < by + (3 * bh) / 4; y++) {
        for (let x = Math.ceil(bx + bw / 4); x < bx + (3 * bw) / 4; x++)
          expect(pixel(upscaled, x, y)[0]).toBeGreaterThan(0.95);
      }
      // Every changed pixel lies inside the aligned crop; everything else is bit-identical.
      let changed = 0;
      for (let y = 0; y < upscaled.height; y++) {
        for (let x = 0; x < upscaled.width; x++) {
          const now = pixel(upscaled, x, y);
          const was = pixel(before, x, y);
          if (now[0] === was[0] && now[1] === was[1] && now[2] === was[2]) continue;
          changed++;
          const [u, v] = templateOf(face, factor, size, template, x, y);
          expect(u > 0 && u < size && v > 0 && v < size, `changed pixel ${x},${y} maps to crop ${u},${v}`).toBe(true);
        }
      }
      // …and the face did not swallow the picture: the crop covers about 1.8 face boxes across.
      expect(changed).toBeGreaterThan(bw * bh);
      expect(changed).toBeLessThan(upscaled.width * upscaled.height * 0.25);
    },
  );

  it.each([512, 256, 1024])(
    'with the identity %i restorer at factor 1 leaves the photo as it was, within a small tolerance',
    async (size) => {
      const upscaled = clonePlanar(portrait);
      const identity = await loadRestorer(await sessionFrom(identityRestorerBytes(1, size)));
      const { report } = await restoreFaces({
        original: portrait,
        upscaled,
        factor: 1,
        faces: portraitFaces,
        restorer: identity,
        options: FULL,
      });
      expect(report.restored).toBe(1);
      let sum = 0;
      let changed = 0;
      let large = 0;
      for (let i = 0; i < upscaled.data.length; i++) {
        const d = Math.abs(upscaled.data[i]! - portrait.data[i]!);
        if (d > 0) changed++;
        if (d > 0.05) large++;
        sum += d;
      }
      // It did paste (resampling leaves traces)…
      expect(changed).toBeGreaterThan(10_000);
      // …but the round trip through the crop and back is faithful: on average well under 1/255,
      // and only edge pixels of hair and eyes differ by more than 5 %.
      expect(sum / changed).toBeLessThan(0.012);
      expect(large / changed).toBeLessThan(0.03);
    },
  );

  it.each([512, 256, 1024])(
    'feathers the %i mask: the blend weight ramps over many pixels, never a hard square edge',
    async (size) => {
      const factor = 2;
      const canvas = uniform(small.width * factor, small.height * factor, 0.5);
      const restorer = size === 512 ? red : await loadRestorer(await sessionFrom(solidRedRestorerBytes(1, size)));
      await restoreFaces({ original: small, upscaled: canvas, factor, faces: smallFaces, restorer, options: FULL });
      const face = smallFaces[0]!;
      // Along the row through the nose: weight w from green, since green goes 0.5 → 0 as w goes 0 → 1.
      const y = Math.round(face.keypoints[2]![1] * factor);
      const weights = Array.from({ length: canvas.width }, (_, x) => 1 - pixel(canvas, x, y)[1] / 0.5);
      expect(Math.max(...weights)).toBeGreaterThan(0.99);
      expect(weights[0]).toBe(0);
      expect(weights.at(-1)).toBe(0);
      const intermediate = weights.filter((w) => w > 0.02 && w < 0.98);
      expect(new Set(intermediate.map((w) => w.toFixed(3))).size).toBeGreaterThanOrEqual(16);
      let steepest = 0;
      for (let x = 1; x < weights.length; x++) steepest = Math.max(steepest, Math.abs(weights[x]! - weights[x - 1]!));
      expect(steepest).toBeLessThan(0.2);
      // The observed profile is the documented mask (upstream's erode + blur, mapped through the paste transform).
      const toTemplate = composeScale(cropTransform(estimateAlignment(face).matrix, size), 1 / factor);
      for (let x = 0; x < canvas.width; x += 3)
        expect(weights[x]).toBeCloseTo(maskWeightAt(toTemplate, size, x + 0.5, y + 0.5), 2);
    },
  );

  it('blend weighs the restored face against the upscaled one', async () => {
    const factor = 2;
    const canvas = uniform(small.width * factor, small.height * factor, 0.5);
    await restoreFaces({
      original: small,
      upscaled: canvas,
      factor,
      faces: smallFaces,
      restorer: red,
      options: { blend: 0.4, fidelity: 0.5 },
    });
    const [x, y] = smallFaces[0]!.keypoints[2]!;
    const [r, g] = pixel(canvas, x * factor, y * factor);
    // 2 decimals is loose now: the shrink before the paste is a float Lanczos with normalised weights (exact to ≈ 1e-7).
    expect(r).toBeCloseTo(0.5 + 0.4 * 0.5, 2);
    expect(g).toBeCloseTo(0.5 * 0.6, 2);

    const untouched = uniform(small.width * factor, small.height * factor, 0.5);
    const { report } = await restoreFaces({
      original: small,
      upscaled: untouched,
      factor,
      faces: smallFaces,
      restorer: red,
      options: { blend: 0, fidelity: 0.5 },
    });
    expect(untouched.data.every((v) => v === 0.5)).toBe(true);
    expect(report.restored).toBe(0);
    expect(report.notice).toMatch(/blend is 0/);
  });

  it('restores every face of a group, several per run when the model batches, reporting progress', async () => {
    const { image, eyes } = await syntheticGroup();
    const { faces } = await detectFaces(detector, image, DETECT);
    expect(faces).toHaveLength(5);
    const session = await sessionFrom(solidRedRestorerBytes('N'));
    const run = session.run.bind(session);
    let runs = 0;
    session.run = ((...args: Parameters<typeof run>) => {
      runs++;
      return run(...args);
    }) as typeof session.run;
    const batching = await loadRestorer(session);
    const canvas = clonePlanar(image);
    const progress: [number, number][] = [];
    const { report } = await restoreFaces({
      original: image,
      upscaled: canvas,
      factor: 1,
      faces,
      restorer: batching,
      options: FULL,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(report.restored).toBe(5);
    expect(runs).toBe(Math.ceil(5 / batching.maxBatch));
    expect(progress.at(-1)).toEqual([5, 5]);
    expect(progress.map(([d]) => d)).toEqual([...progress.map(([d]) => d)].sort((a, b) => a - b));
    for (const [left, right] of eyes) {
      const [r, g] = pixel(canvas, (left[0] + right[0]) / 2, (left[1] + right[1]) / 2);
      expect(r).toBeGreaterThan(0.95);
      expect(g).toBeLessThan(0.05);
    }
    // Between the faces the grass is untouched.
    expect(pixel(canvas, 170, 20)).toEqual(pixel(image, 170, 20));
  });

  it('skips faces it cannot align and says why', async () => {
    const face = smallFaces[0]!;
    // Both eyes on one side of the nose: a profile, whatever the detector said.
    const [nose] = face.keypoints.slice(2, 3);
    const profile: DetectedFace = {
      ...face,
      keypoints: [
        [nose![0] - 14, nose![1] - 12],
        [nose![0] - 6, nose![1] - 12],
        [nose![0] + 10, nose![1]],
        face.keypoints[3]!,
        face.keypoints[4]!,
        face.keypoints[5]!,
      ],
    };
    const upscaled = await resized(small, 2);
    const before = new Float32Array(upscaled.data);
    const progress: [number, number][] = [];
    const { report } = await restoreFaces({
      original: small,
      upscaled,
      factor: 2,
      faces: [profile],
      restorer: red,
      options: FULL,
      onProgress: (done, total) => progress.push([done, total]),
    });
    // Nothing to do is not reported as 0 of 0 (a NaN fraction downstream).
    expect(progress).toEqual([]);
    expect(report.restored).toBe(0);
    expect(report.skipped).toHaveLength(1);
    expect(report.skipped[0]!.reason).toMatch(/profile/);
    expect(differences(upscaled.data, before)).toBe(0);
  });

  it('stops when cancelled and refuses a canvas that is not original × factor', async () => {
    const upscaled = await resized(small, 2);
    const controller = new AbortController();
    controller.abort();
    await expect(
      restoreFaces({
        original: small,
        upscaled,
        factor: 2,
        faces: smallFaces,
        restorer: red,
        options: FULL,
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({
      code: 'CANCELLED',
    });
    await expect(
      restoreFaces({ original: small, upscaled, factor: 4, faces: smallFaces, restorer: red, options: FULL }),
    ).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
