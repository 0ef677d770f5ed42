/**
 * Engine benchmark (not a test): per-stage times for x4fast and x4plus, output MP/s, conv GFLOP/s from
 * the models' known FLOPs, and this machine's ORT MatMul peak measured in the same run.
 *
 *   npm run bench:engine                     # 512² photo for x4fast, 256² for x4plus
 *   npm run bench:engine -- --size 768 --plus-size 512 --runs 3 --tile 192
 */

import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  createEngine,
  createSessionRegistry,
  detectFaces,
  estimateAlignment,
  loadRestorer,
  type ModelSession,
  restoreFaces,
  upscaleImage,
} from '@photoenhance/engine';
import { decodeImage, encodeImage, resizePlanar } from '@photoenhance/image';
import { ensureModel, getModelEntry, OnnxGraphBuilder } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { faceStandinBench } from './face-standin.ts';
import { cpuFlags, median, ms, time } from './measure.ts';
import { matmulPeak } from './peak.ts';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '512' },
    'plus-size': { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
    tile: { type: 'string', default: '0' },
    threads: { type: 'string', default: String(Math.max(1, cpus().length)) },
    image: { type: 'string', default: 'packages/engine/tests/fixtures/faces/astronaut.jpg' },
    // The GFPGAN stand-in section (generates a 340 MB model on first use; the 10-face RSS child takes a minute).
    'no-standin': { type: 'boolean', default: false },
    'no-rss': { type: 'boolean', default: false },
  },
});
const runs = Number(args.runs);
const threads = Number(args.threads);

/** Counts time spent inside the runtime, so tiling + blending is what remains of the upscale stage. */
function timed(session: ModelSession): { session: ModelSession; inference: () => number; reset: () => void } {
  let spent = 0;
  return {
    session: {
      ...session,
      async run(feeds) {
        const t = performance.now();
        try {
          return await session.run(feeds);
        } finally {
          spent += (performance.now() - t) / 1000;
        }
      },
    },
    inference: () => spent,
    reset: () => {
      spent = 0;
    },
  };
}

async function photo(size: number): Promise<Buffer> {
  return sharp(await readFile(args.image))
    .resize(size, size, { fit: 'cover' })
    .jpeg({ quality: 92 })
    .toBuffer();
}

const registry = createSessionRegistry(
  { executionProviders: ['cpu'], intraOpThreads: threads },
  { resolveModel: (id) => ensureModel(id) },
);
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`# Engine benchmark — ${new Date().toISOString()}`);
console.log(
  `machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; onnxruntime-node ${ort.env.versions.common}; ${threads} threads; median of ${runs}`,
);
console.log(`CPU flags: ${await cpuFlags()}`);
const peak = await matmulPeak(threads);
console.log(`ORT MatMul 2048² peak: ${peak.toFixed(0)} GFLOP/s\n`);

console.log(
  '| model | input | tile | decode | inference | tiling+blend | resize | encode | engine total | bare ORT run | tiled/bare | output MP/s | conv GFLOP/s | of peak |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const [model, size] of [
  ['realesrgan-x4fast', Number(args.size)],
  ['realesrgan-x4plus', Number(args['plus-size'])],
] as const) {
  const flopsPerPixel = getModelEntry(model).facts?.flopsPerInputPixel ?? Number.NaN;
  const input = await photo(size);
  const raw = timed(await registry.get(model));
  await registry.warmUp(model, [1, 3, size, size]);
  const rows: Record<string, number[]> = {
    decode: [],
    inference: [],
    blend: [],
    resize: [],
    encode: [],
    total: [],
    bare: [],
  };
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const [decoded, tDecode] = await time(() => decodeImage(input));
    raw.reset();
    const [up, tUp] = await time(() =>
      upscaleImage(raw.session, decoded.rgb, 4, { tileSize: Number(args.tile), tilePad: 10 }),
    );
    const [, tResize] = await time(() => resizePlanar(up, size * 4, size * 4)); // exact-size step (a no-op size here, still measured)
    const [, tEncode] = await time(() =>
      encodeImage(
        { rgb: up, bitDepth: 8, isGrey: false, sourceFormat: 'jpeg', metadata: {} },
        { format: 'png', quality: 92, keepMetadata: false },
      ),
    );
    rows.decode?.push(tDecode);
    rows.inference?.push(raw.inference());
    rows.blend?.push(tUp - raw.inference());
    rows.resize?.push(tResize);
    rows.encode?.push(tEncode);
    rows.total?.push((performance.now() - t0) / 1000);
    // One bare, untiled run of the same model on the same pixels: the floor tiling is compared with.
    const tensor = new ort.Tensor('float32', decoded.rgb.data, [1, 3, size, size]);
    const [, tBare] = await time(() => raw.session.session.run({ [raw.session.inputNames[0] as string]: tensor }));
    rows.bare?.push(tBare);
  }
  const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)])) as Record<string, number>;
  const upscale = (m.inference as number) + (m.blend as number);
  const gflops = (flopsPerPixel * size * size) / (m.inference as number) / 1e9;
  console.log(
    `| ${model} | ${size}² | ${args.tile === '0' ? 'auto' : args.tile} | ${ms(m.decode as number)} | ${ms(m.inference as number)} | ${ms(m.blend as number)} | ${ms(m.resize as number)} | ${ms(m.encode as number)} | ${ms(m.total as number)} | ${ms(m.bare as number)} | ${(upscale / (m.bare as number)).toFixed(2)} | ${((16 * size * size) / 1e6 / (m.total as number)).toFixed(2)} | ${gflops.toFixed(0)} | ${((gflops / peak) * 100).toFixed(0)} % |`,
  );
}

// The whole engine as a user runs it (faces on, x4fast), for the "512² → 2048² in ≤ 3 s" target.
const engine = createEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: threads } });
await engine.warmUp({ quality: 'fast' });
const portrait = await photo(512);
const totals: number[] = [];
let last: Awaited<ReturnType<typeof engine.enhance>> | undefined;
for (let i = 0; i < runs; i++) {
  const [r, t] = await time(() => engine.enhance(portrait, { quality: 'fast', scale: 4, output: { format: 'png' } }));
  totals.push(t);
  last = r;
}
console.log(
  `\nengine.enhance 512² portrait → ${last?.width}×${last?.height} (x4fast, faces on, PNG): ${ms(median(totals))} median; stages ${Object.entries(
    last?.timings ?? {},
  )
    .map(([k, v]) => `${k} ${ms(v)}`)
    .join(', ')}`,
);

// Face stage on the same portrait: detection, alignment, crop + paste-back. The restorer's own run is timed
// apart (identity model here; with GFPGAN it is the ≈ 400 GFLOP model run, reported with restoration).
const detector = await registry.get('blazeface-back');
const decoded = await decodeImage(portrait);
const identity = new OnnxGraphBuilder('identity')
  .input('input', ['n', 3, 512, 512])
  .output('output', ['n', 3, 512, 512])
  .node('Identity', ['input'], ['output'])
  .toBytes();
const identitySession = await ort.InferenceSession.create(identity);
const runIdentity = identitySession.run.bind(identitySession);
let modelRun = 0;
identitySession.run = (async (...a: Parameters<typeof runIdentity>) => {
  const t = performance.now();
  try {
    return await runIdentity(...a);
  } finally {
    modelRun += (performance.now() - t) / 1000;
  }
}) as typeof identitySession.run;
const restorer = await loadRestorer(identitySession, {}, 'identity');
const opts = { onlyCenterFace: false, maxFaces: 20, minFaceSize: 16 };
const faceRuns = Math.max(runs, 11); // cheap stage, noisy on shared cores: a median of at least 11
const det: number[] = [];
const align: number[] = [];
const paste: number[] = [];
const model: number[] = [];
let faces = 0;
for (let i = 0; i < faceRuns; i++) {
  const [found, tDet] = await time(() => detectFaces(detector.session, decoded.rgb, opts));
  faces = found.faces.length;
  const [, tAlign] = await time(async () => found.faces.map((f) => estimateAlignment(f)));
  const canvas = { ...decoded.rgb, data: decoded.rgb.data.slice() };
  modelRun = 0;
  const [, tRestore] = await time(() =>
    restoreFaces({
      original: decoded.rgb,
      upscaled: canvas,
      factor: 1,
      faces: found.faces,
      restorer,
      options: { blend: 1, fidelity: 0.5 },
    }),
  );
  det.push(tDet);
  align.push(tAlign);
  paste.push(tRestore - modelRun);
  model.push(modelRun);
}
const perFace = (median(det) + median(align) + median(paste)) / Math.max(1, faces);
console.log(
  `face stage, 512² portrait, ${faces} face(s), median of ${faceRuns}: detection ${ms(median(det))}, alignment ${(median(align) * 1000).toFixed(2)} ms, crop/warp + paste-back ${ms(median(paste))} (restorer model run, identity, apart: ${ms(median(model))}); detection+alignment+paste-back per face ${ms(perFace)} (target ≤ 60 ms)`,
);
await engine.close();
await registry.close();
if (!args['no-standin']) await faceStandinBench({ peak, runs, threads, portrait, skipRss: args['no-rss'] ?? false });
