import type { InferenceSession } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectInRegion, runDetector } from '../../src/face/blazeface.ts';
import { type DetectOptions, detectFaces, detectionTiles, tileViews } from '../../src/face/detect.ts';
import { weightedNms } from '../../src/face/nms.ts';
import { planarToRgb8 } from '../../src/face/pixels.ts';
import { ASTRONAUT_EYES, ASTRONAUT_MOUTH, FIXTURES, loadPlanar, openDetector, syntheticGroup } from './helpers.ts';

const ALL: DetectOptions = { onlyCenterFace: false, maxFaces: 20, minFaceSize: 8 };

function distance(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!);
}

describe('detectionTiles', () => {
  it('adds no tiles when the whole-image pass already sees the smallest face large enough', () => {
    expect(detectionTiles(200, 150, 16)).toEqual([]);
  });

  it('covers a wide image with overlapping windows along its long side', () => {
    const tiles = detectionTiles(1024, 320, 41);
    expect(tiles.length).toBeGreaterThanOrEqual(2);
    for (const t of tiles) {
      expect(t.left).toBeGreaterThanOrEqual(0);
      expect(t.left + t.width).toBeLessThanOrEqual(1024);
      expect(t.height).toBe(320);
    }
    const sorted = [...tiles].sort((a, b) => a.left - b.left);
    expect(sorted[0]!.left).toBe(0);
    expect(sorted.at(-1)!.left + sorted.at(-1)!.width).toBe(1024);
    // Consecutive windows overlap by at least a quarter, so a small face lies whole in one of them.
    for (let i = 1; i < sorted.length; i++) {
      const overlap = sorted[i - 1]!.left + sorted[i - 1]!.width - sorted[i]!.left;
      expect(overlap).toBeGreaterThanOrEqual(sorted[i]!.width * 0.25 - 1);
    }
  });

  it('grids a large square image in both directions', () => {
    const tiles = detectionTiles(2000, 2000, 80);
    expect(new Set(tiles.map((t) => t.left)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(tiles.map((t) => t.top)).size).toBeGreaterThanOrEqual(2);
  });
});

describe('detectFaces (BlazeFace back model)', () => {
  let detector: InferenceSession;
  beforeAll(async () => {
    detector = await openDetector();
  });

  it('finds the astronaut and places her eyes and mouth where they are', async () => {
    const image = await loadPlanar(`${FIXTURES}astronaut.jpg`);
    const { faces, skipped } = await detectFaces(detector, image, ALL);
    expect(faces).toHaveLength(1);
    expect(skipped).toEqual([]);
    const face = faces[0]!;
    expect(face.score).toBeGreaterThanOrEqual(0.7);
    expect(face.keypoints).toHaveLength(6);
    const interOcular = distance(ASTRONAUT_EYES[0]!, ASTRONAUT_EYES[1]!);
    expect(distance(face.keypoints[0]!, ASTRONAUT_EYES[0]!)).toBeLessThan(0.08 * interOcular);
    expect(distance(face.keypoints[1]!, ASTRONAUT_EYES[1]!)).toBeLessThan(0.08 * interOcular);
    expect(distance(face.keypoints[3]!, ASTRONAUT_MOUTH)).toBeLessThan(0.15 * interOcular);
    // The box holds the eyes and mouth and lies inside the image.
    const [x, y, w, h] = face.box;
    for (const p of [face.keypoints[0]!, face.keypoints[1]!, face.keypoints[3]!]) {
      expect(p[0]).toBeGreaterThan(x);
      expect(p[0]).toBeLessThan(x + w);
      expect(p[1]).toBeGreaterThan(y);
      expect(p[1]).toBeLessThan(y + h);
    }
    expect(x).toBeGreaterThanOrEqual(0);
    expect(y + h).toBeLessThanOrEqual(image.height);
  });

  it('finds the same face, scaled, in a half-size copy', async () => {
    const image = await loadPlanar(`${FIXTURES}astronaut.jpg`, { width: 256, height: 256 });
    const { faces } = await detectFaces(detector, image, ALL);
    expect(faces).toHaveLength(1);
    const interOcular = distance(ASTRONAUT_EYES[0]!, ASTRONAUT_EYES[1]!) / 2;
    const half = ASTRONAUT_EYES.map(([ex, ey]) => [ex / 2, ey / 2]);
    expect(distance(faces[0]!.keypoints[0]!, half[0]!)).toBeLessThan(0.1 * interOcular);
    expect(distance(faces[0]!.keypoints[1]!, half[1]!)).toBeLessThan(0.1 * interOcular);
  });

  it.each(['grass.jpg', 'brick.jpg', 'coffee.jpg'])('finds no face in %s', async (file) => {
    const image = await loadPlanar(`${FIXTURES}${file}`);
    const { faces } = await detectFaces(detector, image, ALL);
    expect(faces).toEqual([]);
  });

  it('skips the cameraman, a face in profile, and says why', async () => {
    const image = await loadPlanar(`${FIXTURES}camera.jpg`);
    const { faces, skipped } = await detectFaces(detector, image, ALL);
    expect(faces).toEqual([]);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.reason).toMatch(/profile/);
    // The skipped box is the head (upper left quarter of the picture).
    const [x, y, w, h] = skipped[0]!.box;
    expect(x + w / 2).toBeGreaterThan(64);
    expect(x + w / 2).toBeLessThan(128);
    expect(y + h / 2).toBeLessThan(110);
  });

  it('finds every face of a wide group photo, including ones the whole-image pass misses', async () => {
    const { image, eyes } = await syntheticGroup();
    const { faces } = await detectFaces(detector, image, ALL);
    expect(faces).toHaveLength(eyes.length);
    for (const expected of eyes) {
      const interOcular = distance(expected[0], expected[1]);
      const match = faces.find((f) => distance(f.keypoints[0]!, expected[0]) < interOcular);
      expect(match, `face with eyes near ${expected[0].join(',')}`).toBeDefined();
      expect(distance(match!.keypoints[0]!, expected[0])).toBeLessThan(0.15 * interOcular);
      expect(distance(match!.keypoints[1]!, expected[1])).toBeLessThan(0.15 * interOcular);
    }
    // Why the tiles exist: a single 256×256 view of the whole picture does not see them all.
    const whole = weightedNms(
      await detectInRegion(
        detector,
        planarToRgb8(image),
        image.width,
        image.height,
        { left: 0, top: 0, width: image.width, height: image.height },
        0.5,
      ),
      0.3,
    );
    expect(whole.length).toBeLessThan(eyes.length);
  });

  it('sees in each tile, cut from one resize of the whole image, what a resize of that tile alone shows', async () => {
    const { image, eyes } = await syntheticGroup();
    const rgb8 = planarToRgb8(image);
    const tiles = detectionTiles(image.width, image.height, 0.04 * image.width);
    const views = await tileViews(rgb8, image.width, image.height, tiles);
    expect(views).toHaveLength(tiles.length);
    let compared = 0;
    for (let t = 0; t < tiles.length; t++) {
      const alone = weightedNms(await detectInRegion(detector, rgb8, image.width, image.height, tiles[t]!, 0.5), 0.3);
      const cut = weightedNms(await runDetector(detector, views[t]!, 0.5), 0.3);
      expect(cut.length).toBe(alone.length);
      for (const a of alone) {
        const size = a.box[2] - a.box[0];
        const b = cut.find((d) => Math.abs(d.box[0] - a.box[0]) < size / 2 && Math.abs(d.box[1] - a.box[1]) < size / 2);
        expect(b, `tile ${t}: a face at ${a.box.map(Math.round).join(',')}`).toBeDefined();
        // Same place in the photo (the mapping back from the shared raster is right), same scale.
        for (let k = 0; k < 4; k++) expect(Math.abs(b!.box[k]! - a.box[k]!)).toBeLessThan(0.06 * size);
        for (let k = 0; k < 4; k++) expect(Math.abs(b!.keypoints[k]! - a.keypoints[k]!)).toBeLessThan(0.06 * size);
        expect(b!.scale).toBeCloseTo(a.scale, 2);
        compared++;
      }
    }
    // The small faces are what the tiles are for: every one was seen and compared.
    expect(compared).toBeGreaterThanOrEqual(eyes.length);
  });

  it('honours onlyCenterFace, maxFaces and minFaceSize, reporting each face left out', async () => {
    const { image } = await syntheticGroup();
    const centre = await detectFaces(detector, image, { ...ALL, onlyCenterFace: true });
    expect(centre.faces).toHaveLength(1);
    const [cx] = centre.faces[0]!.box;
    expect(cx).toBeGreaterThan(450);
    expect(cx).toBeLessThan(560);
    expect(centre.skipped).toHaveLength(4);
    expect(centre.skipped.every((s) => /centre/.test(s.reason))).toBe(true);

    const two = await detectFaces(detector, image, { ...ALL, maxFaces: 2 });
    expect(two.faces).toHaveLength(2);
    expect(two.skipped.filter((s) => /maxFaces/.test(s.reason))).toHaveLength(3);

    // The astronaut's face box is about 105 px.
    const portrait = await loadPlanar(`${FIXTURES}astronaut.jpg`);
    const big = await detectFaces(detector, portrait, { ...ALL, minFaceSize: 130 });
    expect(big.faces).toEqual([]);
    expect(big.skipped).toHaveLength(1);
    expect(big.skipped[0]!.reason).toMatch(/minFaceSize/);
  });

  it('rejects a session that is not the BlazeFace back model', async () => {
    const image = await loadPlanar(`${FIXTURES}grass.jpg`, { width: 64, height: 64 });
    const { identityRestorerBytes, sessionFrom } = await import('./helpers.ts');
    const wrong = await sessionFrom(identityRestorerBytes());
    await expect(detectFaces(wrong, image, ALL)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });
});
