/**
 * Per-face stage times on the 512² astronaut portrait (one face): detection, alignment (fit + 512 crop),
 * paste-back at factor 1, 2 and 4. Not a test (timings on shared CI cores are noise): run it by hand,
 *   node packages/engine/tests/face/face-timings.ts [runs]
 * and read min / median per stage.
 */
import { composeScale, cropTransform } from '../../src/face/alignment.ts';
import { detectFaces, estimateAlignment } from '../../src/face/index.ts';
import { pasteFace } from '../../src/face/paste.ts';
import { cropAlignedFace } from '../../src/face/warp.ts';
import { FIXTURES, loadPlanar, openDetector } from './helpers.ts';

const runs = Number(process.argv[2] ?? 15);
/** Face crop side: GFPGAN's (pass another as the second argument, e.g. 1024 for GPEN-BFR-1024). */
const SIZE = Number(process.argv[3] ?? 512);
const detector = await openDetector();
const portrait = await loadPlanar(`${FIXTURES}astronaut.jpg`);
const options = { onlyCenterFace: false, maxFaces: 20, minFaceSize: 16 };

const times: Record<string, number[]> = {};
const time = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
  const t0 = performance.now();
  const out = await fn();
  const list = times[name] ?? [];
  list.push(performance.now() - t0);
  times[name] = list;
  return out;
};

const canvases = [1, 2, 4].map((f) => ({
  f,
  image: { width: 512 * f, height: 512 * f, channels: 3, data: new Float32Array(512 * f * 512 * f * 3).fill(0.5) },
}));
for (let i = 0; i < runs + 2; i++) {
  const { faces } = await time('detect', () => detectFaces(detector, portrait, options));
  if (faces.length !== 1) throw new Error(`expected one face, found ${faces.length}`);
  const crop = await time('align', async () =>
    cropAlignedFace(portrait, cropTransform(estimateAlignment(faces[0]!).matrix, SIZE), SIZE),
  );
  const m = cropTransform(estimateAlignment(faces[0]!).matrix, SIZE);
  for (const { f, image } of canvases)
    await time(`paste x${f}`, () => pasteFace(image, crop, SIZE, composeScale(m, 1 / f), 1));
}

const stats = (xs: number[]) => {
  const s = xs.slice(2).sort((a, b) => a - b); // first two runs warm up ORT and the JIT
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]! };
};
const rows = Object.entries(times).map(([stage, xs]) => ({ stage, ...stats(xs) }));
for (const r of rows)
  console.log(
    `${r.stage.padEnd(9)} min ${r.min.toFixed(1).padStart(6)} ms   median ${r.median.toFixed(1).padStart(6)} ms`,
  );
for (const f of [1, 2, 4]) {
  const total = (k: 'min' | 'median') =>
    ['detect', 'align', `paste x${f}`].reduce((sum, st) => sum + rows.find((r) => r.stage === st)![k], 0);
  console.log(
    `detect + align + paste x${f}: min ${total('min').toFixed(1)} ms, median ${total('median').toFixed(1)} ms per face`,
  );
}
