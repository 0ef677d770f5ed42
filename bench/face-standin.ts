/**
 * Face restoration at real scale, with the GFPGAN-architecture stand-in (random weights: its output is
 * noise; it is here for cost and memory only). Called by engine.bench.ts after its own tables:
 *
 * - per-face restorer time as exported vs with the constant-weight rewrite, interleaved, as GFLOP/s and
 *   share of the MatMul peak measured by the caller in the same run;
 * - two faces in one batched run (batch folded into conv groups) vs two batch-1 runs;
 * - the 512² portrait through engine.enhance (x4fast + stand-in) vs x4fast alone + one restorer run;
 * - peak RSS of a fresh process restoring a 10-face group photo (`--rss-child` runs that process).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { createEngine, createSessionRegistry, upscaleImage } from '@photoenhance/engine';
import { decodeImage } from '@photoenhance/image';
import { buildGfpganStandin, ensureModel, getModelEntry, rewriteModulatedConvs } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { cpuFlags, median, ms, time } from './measure.ts';
import { matmulPeak } from './peak.ts';

const STANDIN = 'gfpgan-standin';

export interface FaceBenchOptions {
  /** ORT MatMul peak (GFLOP/s) measured by the caller in the same run. */
  peak: number;
  runs: number;
  threads: number;
  /** 512² portrait as JPEG. */
  portrait: Buffer;
  /** Interleaved pairs for the rewrite A/B (default 6). */
  abRuns?: number;
  /** Skip the 10-face RSS child (it takes about a minute on 2 cores). */
  skipRss?: boolean;
}

function faceTensor(seed: number, batch = 1): ort.Tensor {
  const n = 3 * 512 * 512;
  const data = Float32Array.from({ length: batch * n }, (_, i) => Math.sin(i * 0.00071 + seed) * 0.9);
  return new ort.Tensor('float32', data, [batch, 3, 512, 512]);
}

export async function faceStandinBench(o: FaceBenchOptions): Promise<void> {
  const entry = getModelEntry(STANDIN);
  const gflop = (entry.facts?.flopsPerRun ?? Number.NaN) / 1e9;
  const { path } = await ensureModel(STANDIN);
  const session = (bytes: Uint8Array, extra?: Record<string, unknown>) =>
    ort.InferenceSession.create(bytes, {
      intraOpNumThreads: o.threads,
      logSeverityLevel: 3,
      enableMemPattern: false, // as the engine opens restorers
      ...(extra ? { extra } : {}),
    });
  const exported = await readFile(path);
  const rewrite = rewriteModulatedConvs(exported);
  // Spinning off: ORT's idle threads then burn no CPU, so CPU seconds measure each arm's work even
  // when other jobs share the cores (wall time is reported too; both arms run the same way).
  const noSpin = { session: { intra_op: { allow_spinning: '0' } } };
  const arms = {
    exported: await session(exported, noSpin),
    'constant weights': await session(rewrite.onnx, noSpin),
  };
  const x = faceTensor(1);
  for (const s of Object.values(arms)) await s.run({ input: x });
  const times: Record<string, number[]> = { exported: [], 'constant weights': [] };
  const cpuTimes: Record<string, number[]> = { exported: [], 'constant weights': [] };
  const abRuns = Math.max(o.runs, o.abRuns ?? 6);
  // Pairs in alternating order (AB, BA, …): load from other work drifts, so compare within a pair.
  for (let i = 0; i < abRuns; i++) {
    const order = Object.entries(arms);
    if (i % 2) order.reverse();
    for (const [name, s] of order) {
      const cpu = process.cpuUsage();
      times[name]!.push((await time(() => s.run({ input: x })))[1]);
      const used = process.cpuUsage(cpu);
      cpuTimes[name]!.push((used.user + used.system) / 1e6);
    }
  }
  console.log(
    `\n## Face restoration at real scale — ${STANDIN} (GFPGANv1Clean architecture, random weights: output is noise)`,
  );
  console.log(
    `${gflop.toFixed(1)} GFLOP per face; ${rewrite.rewritten} modulated convs (${rewrite.demodulated} demodulated); interleaved A/B, median of ${abRuns}\n`,
  );
  console.log('| restorer form | per face (wall) | GFLOP/s | of MatMul peak | CPU seconds per face |');
  console.log('|---|---|---|---|---|');
  const perFace: Record<string, number> = {};
  for (const [name, t] of Object.entries(times)) {
    perFace[name] = median(t);
    const rate = gflop / median(t);
    console.log(
      `| ${name} | ${ms(median(t))} | ${rate.toFixed(0)} | ${((rate / o.peak) * 100).toFixed(0)} % | ${median(cpuTimes[name]!).toFixed(2)} s |`,
    );
  }
  const ratio = (perFace.exported as number) / (perFace['constant weights'] as number);
  const pairRatios = times.exported!.map((t, i) => t / times['constant weights']![i]!);
  const pairRatio = median(pairRatios);
  const cpuRatio = median(cpuTimes.exported!.map((t, i) => t / cpuTimes['constant weights']![i]!));
  console.log(
    `constant weights vs exported: ${ratio.toFixed(3)}× speed from the medians, ${pairRatio.toFixed(3)}× as the median of the per-pair ratios (adopt at ≥ 1.10×: ${pairRatio >= 1.1 ? 'yes' : 'no'}); per-pair ratios ${pairRatios
      .map((r) => r.toFixed(2))
      .join(', ')}; CPU seconds, median per-pair ratio ${cpuRatio.toFixed(3)}×`,
  );

  // The goal's figure: the form and settings the engine serves with (constant weights, ORT thread
  // spinning on), against the MatMul peak measured just before and again just after it.
  const served = await session(rewrite.onnx);
  await served.run({ input: x });
  const servedTimes: number[] = [];
  for (let i = 0; i < abRuns; i++) servedTimes.push((await time(() => served.run({ input: x })))[1]);
  const peakAfter = await matmulPeak(o.threads);
  const servedRate = gflop / median(servedTimes);
  console.log(
    `as served (constant weights, spinning on): ${ms(median(servedTimes))} per face (median of ${abRuns}), ${servedRate.toFixed(0)} GFLOP/s = ${((servedRate / o.peak) * 100).toFixed(0)} % of the MatMul peak before (${o.peak.toFixed(0)}) and ${((servedRate / peakAfter) * 100).toFixed(0)} % of the peak after (${peakAfter.toFixed(0)} GFLOP/s); goal ≥ 90 %`,
  );

  // Two faces per run: the batch-2 export form against two batch-1 runs, interleaved.
  const pair = await session(buildGfpganStandin({ batch: 2 }).onnx);
  const x2 = faceTensor(1, 2);
  await pair.run({ input: x2 });
  const single: number[] = [];
  const batched: number[] = [];
  for (let i = 0; i < Math.max(2, Math.ceil(abRuns / 2)); i++) {
    single.push(
      (
        await time(async () => {
          await arms.exported.run({ input: x });
          await arms.exported.run({ input: x });
        })
      )[1],
    );
    batched.push((await time(() => pair.run({ input: x2 })))[1]);
  }
  console.log(
    `2 faces: two batch-1 runs ${ms(median(single))}, one batch-2 run ${ms(median(batched))} (${(median(single) / median(batched)).toFixed(2)}× speed)`,
  );
  await pair.release();

  // The portrait: the whole engine vs its two big parts measured alone, interleaved.
  const engine = createEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: o.threads } });
  const options = { quality: 'fast', scale: 4, face: { model: STANDIN }, output: { format: 'png' } } as const;
  await engine.enhance(o.portrait, options);
  const registry = createSessionRegistry(
    { executionProviders: ['cpu'], intraOpThreads: o.threads },
    { resolveModel: (id) => ensureModel(id) },
  );
  const upscaler = await registry.get('realesrgan-x4fast');
  const decoded = await decodeImage(o.portrait);
  await upscaleImage(upscaler, decoded.rgb, 4, { tileSize: 0, tilePad: 10 });
  const totals: number[] = [];
  const parts: number[] = [];
  let faces = 0;
  let stages = '';
  for (let i = 0; i < o.runs; i++) {
    const [r, t] = await time(() => engine.enhance(o.portrait, options));
    totals.push(t);
    faces = r.faces.restored;
    stages = Object.entries(r.timings)
      .map(([k, v]) => `${k} ${ms(v)}`)
      .join(', ');
    const [, tUp] = await time(() => upscaleImage(upscaler, decoded.rgb, 4, { tileSize: 0, tilePad: 10 }));
    // The form and settings the engine opens restorers with (constant weights, spinning on).
    const [, tFace] = await time(() => served.run({ input: x }));
    parts.push(tUp + tFace);
  }
  console.log(
    `512² portrait, x4fast + ${STANDIN}, ${faces} face(s), PNG: engine.enhance ${ms(median(totals))} vs x4fast upscale alone + one restorer run ${ms(median(parts))}: ${(median(totals) / median(parts)).toFixed(2)}× (target ≤ 1.10×); stages ${stages}`,
  );
  await engine.close();
  await registry.close();
  await arms.exported.release();
  await arms['constant weights'].release();
  await served.release();

  if (!o.skipRss) {
    const child = await promisify(execFile)(
      process.execPath,
      [fileURLToPath(import.meta.url), '--rss-child', String(o.threads)],
      {
        maxBuffer: 1 << 20,
      },
    );
    console.log(child.stdout.trim());
  }
}

/**
 * A group photo with 10 faces (the astronaut's head, 5 × 2, every other one mirrored) through a fresh
 * engine in this process, as a worker would run it (x4fast, scale 2): prints the process's peak RSS.
 */
async function rssChild(threads: number, json: boolean): Promise<void> {
  const fixture = fileURLToPath(new URL('../packages/engine/tests/fixtures/faces/', import.meta.url));
  const head = await sharp(`${fixture}astronaut.jpg`)
    .extract({ left: 130, top: 20, width: 190, height: 200 })
    .resize(152, 160)
    .toBuffer();
  const mirrored = await sharp(head).flop().toBuffer();
  const [W, H] = [1100, 480];
  const photo = await sharp(`${fixture}grass.jpg`)
    .resize(W, H, { fit: 'fill' })
    .composite(
      Array.from({ length: 10 }, (_, i) => ({
        input: i % 2 ? mirrored : head,
        left: 30 + (i % 5) * 212,
        top: 40 + Math.floor(i / 5) * 220,
      })),
    )
    .jpeg({ quality: 92 })
    .toBuffer();
  const engine = createEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: threads } });
  const t = performance.now();
  const result = await engine.enhance(photo, { quality: 'fast', scale: 2, face: { model: STANDIN } });
  const seconds = (performance.now() - t) / 1000;
  await engine.close();
  const peakBytes = process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB
  const perFace = ((result.timings.restore ?? 0) / Math.max(1, result.faces.restored)) * 1000;
  if (json) {
    console.log(
      JSON.stringify({ detected: result.faces.detected, restored: result.faces.restored, seconds, peakBytes }),
    );
    return;
  }
  console.log(
    `10-face group photo ${W}×${H} → ×2, x4fast + ${STANDIN}: ${result.faces.detected} detected, ${result.faces.restored} restored in ${seconds.toFixed(1)} s (${perFace.toFixed(0)} ms per face); peak RSS of the process ${(peakBytes / 1e9).toFixed(2)} GB (target < 2.5 GB)`,
  );
}

if (process.argv[2] === '--rss-child') await rssChild(Number(process.argv[3] ?? 2), process.argv[4] === '--json');
else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Alone: `node bench/face-standin.ts [--runs 3] [--threads 2] [--ab-runs 6] [--no-rss]` (bench:engine runs it too).
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      threads: { type: 'string', default: String(Math.max(1, cpus().length)) },
      'ab-runs': { type: 'string', default: '6' },
      'no-rss': { type: 'boolean', default: false },
      image: { type: 'string', default: 'packages/engine/tests/fixtures/faces/astronaut.jpg' },
    },
  });
  const threads = Number(values.threads);
  console.log(`# Face restoration benchmark — ${new Date().toISOString()}`);
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; onnxruntime-node ${ort.env.versions.common}; ${threads} threads; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`CPU flags: ${await cpuFlags()}`);
  const peak = await matmulPeak(threads);
  console.log(`ORT MatMul 2048² peak: ${peak.toFixed(0)} GFLOP/s`);
  const portrait = await sharp(await readFile(values.image))
    .resize(512, 512, { fit: 'cover' })
    .jpeg({ quality: 92 })
    .toBuffer();
  await faceStandinBench({
    peak,
    runs: Number(values.runs),
    threads,
    portrait,
    abRuns: Number(values['ab-runs']),
    skipRss: values['no-rss'] ?? false,
  });
}
