/**
 * Restorers of sizes other than GFPGAN's 512 through the whole engine (decode → detect → align → restore →
 * paste → encode), with the small generated stand-ins `gfpgan-standin-256` and `gfpgan-standin-1024` (the
 * GFPGAN graph at that side with 1/16 of the channels, random weights: the output is noise). What is proven
 * is the plumbing: the engine reads the size from the session, checks it against the manifest, cuts the crop
 * at that size and pastes it back onto the face, and only there — as the 512 stand-in test does.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getModelEntry } from '@photoenhance/models';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cropTransform, detectFaces, estimateAlignment } from '../../src/face/index.ts';
import { createEngine, type Engine } from '../../src/index.ts';
import { FIXTURES, loadPlanar, openDetector } from './helpers.ts';

let engine: Engine;
let photo: Buffer;

beforeAll(async () => {
  engine = createEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: 2 } });
  photo = await readFile(join(FIXTURES, 'astronaut.jpg'));
});
afterAll(async () => {
  await engine?.close();
});

describe.each([256, 1024])('a %i restorer through the engine', (size) => {
  const model = `gfpgan-standin-${size}`;

  it('is a generated stand-in of that size in the manifest', () => {
    const entry = getModelEntry(model);
    expect(entry.source).toMatchObject({ kind: 'generated', size });
    expect(entry.io.inputs[0]!.shape).toEqual([1, 3, size, size]);
  });

  it('restores the portrait’s face at that size and pastes it on the face only', async () => {
    const result = await engine.enhance(photo, {
      scale: 1,
      backgroundUpsampler: false,
      face: { model },
      output: { format: 'png' },
    });
    expect(result.faces).toMatchObject({ detected: 1, restored: 1, model });
    expect(result.models).toContain(model);
    expect(result.warnings.join(' ')).toMatch(/stand-in with random weights/);

    const { data: before, info } = await sharp(photo).raw().toBuffer({ resolveWithObject: true });
    const after = await sharp(result.data).raw().toBuffer();
    // Where the crop of this size lands: the detected face's alignment scaled to the crop, inverted.
    const original = await loadPlanar(photo);
    const { faces } = await detectFaces(await openDetector(), original, {
      onlyCenterFace: false,
      maxFaces: 20,
      minFaceSize: 8,
    });
    const toCrop = cropTransform(estimateAlignment(faces[0]!).matrix, size);
    let inside = 0;
    let changedInside = 0;
    let changedOutside = 0;
    for (let y = 0; y < info.height; y++)
      for (let x = 0; x < info.width; x++) {
        const i = (y * info.width + x) * 3;
        const changed = before[i] !== after[i] || before[i + 1] !== after[i + 1] || before[i + 2] !== after[i + 2];
        const u = toCrop[0] * (x + 0.5) + toCrop[1] * (y + 0.5) + toCrop[2];
        const v = toCrop[3] * (x + 0.5) + toCrop[4] * (y + 0.5) + toCrop[5];
        // The feathered mask is 0 over the outer 1/20 of the crop: count the part where it is clearly on.
        const core = u > size * 0.15 && u < size * 0.85 && v > size * 0.15 && v < size * 0.85;
        const crop = u > 0 && u < size && v > 0 && v < size;
        if (core) {
          inside++;
          if (changed) changedInside++;
        }
        if (changed && !crop) changedOutside++;
      }
    // The restored face covers the middle of its crop, and nothing outside the crop moved.
    expect(inside).toBeGreaterThan(10_000);
    expect(changedInside / inside).toBeGreaterThan(0.95);
    expect(changedOutside).toBe(0);
  });
});
