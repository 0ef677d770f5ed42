/**
 * Memory benchmark (issue 21): peak RSS and time of one photo at ×2 and ×4 for 1, 3, 12, 24 and 40 MP
 * inputs, the engine as it is ("after") against the main-branch pipeline ("before": the whole ×4 result
 * held as float), interleaved, each job in a fresh process (bench/memory/run-one.ts), next to the
 * estimate admission uses (estimateJobMemory).
 *
 *   npm run bench:memory                       # x4fast, JPEG, replayed tiles (see below)
 *   npm run bench:memory -- --sizes 1,3 --scales 2 --runs 3 --max-tiles 4
 *
 * Feasible on 2 shared cores: each process runs the model once on a window of its own size (the warm-up,
 * which leaves ONNX Runtime's arena in the baseline, as on a worker after its first job); tiles after the
 * first --max-tiles (default 0) replay that output. Memory is the whole pipeline's either way; "pipeline s"
 * is everything but the model, and "total s (est.)" adds tiles × the measured model run. "before" runs only
 * where its own peak (≈ 204 bytes an input pixel + 15 an output pixel) stays under --before-cap-gb, and
 * outputs over --max-output-mp (the service's MAX_OUTPUT_PIXELS) are skipped: the API refuses them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { estimateJobMemory } from '@photoenhance/contracts';
import sharp from 'sharp';
import { cpuFlags } from './measure.ts';

const run = promisify(execFile);
const { values: args } = (await import('node:util')).parseArgs({
  options: {
    sizes: { type: 'string', default: '1,3,12,24,40' },
    scales: { type: 'string', default: '2,4' },
    runs: { type: 'string', default: '1' },
    'max-tiles': { type: 'string', default: '0' },
    'before-cap-gb': { type: 'string', default: '6' },
    'max-output-mp': { type: 'string', default: '268.4' },
    /** 'before,after' (default) or one of them, e.g. to re-measure the engine alone. */
    variants: { type: 'string', default: 'before,after' },
    image: { type: 'string', default: 'packages/engine/tests/fixtures/faces/astronaut.jpg' },
  },
});

interface Measured {
  variant: 'before' | 'after';
  input: [number, number];
  output: [number, number];
  baselineBytes: number;
  peakBytes: number;
  seconds: number;
  tiles: number;
  warmSeconds: number;
}

const GB = 1e9;
const MB = 1e6;
const work = await mkdtemp(join(tmpdir(), 'pe-membench-'));
const runOne = new URL('./memory/run-one.ts', import.meta.url).pathname;

async function photo(megapixels: number): Promise<{ path: string; width: number; height: number }> {
  const width = Math.round(Math.sqrt((megapixels * 1e6 * 4) / 3) / 2) * 2;
  const height = Math.round((width * 3) / 4 / 2) * 2;
  const path = join(work, `${megapixels}mp.jpg`);
  await sharp(await readFile(args.image), { limitInputPixels: false })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .jpeg({ quality: 92 })
    .toFile(path);
  return { path, width, height };
}

async function measure(path: string, scale: number, variant: 'before' | 'after'): Promise<Measured> {
  const { stdout } = await run(
    process.execPath,
    [
      '--expose-gc',
      runOne,
      '--input',
      path,
      '--scale',
      String(scale),
      '--variant',
      variant,
      '--max-tiles',
      args['max-tiles'],
    ],
    { maxBuffer: 1 << 20, timeout: 1_800_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Measured;
}

const fmt = (bytes: number) => `${(bytes / GB).toFixed(2)} GB`;
console.log(
  `Memory bench ${new Date().toISOString()} — ${cpus()[0]?.model} ×${cpus().length} (${await cpuFlags()}), ${(totalmem() / GB).toFixed(0)} GB, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  '\n| input | scale | output | variant | idle worker | peak RSS | job (peak − idle) | estimate | goal (idle + 300 MB + 4 B/out px) | pipeline s | total s (est.) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
try {
  for (const mp of args.sizes.split(',').map(Number)) {
    const input = await photo(mp);
    for (const scale of args.scales.split(',').map(Number)) {
      const outPixels = Math.round(input.width * scale) * Math.round(input.height * scale);
      if (outPixels > Number(args['max-output-mp']) * 1e6) {
        console.log(
          `| ${mp} MP | ×${scale} | ${(outPixels / 1e6).toFixed(0)} MP | — | skipped: over MAX_OUTPUT_PIXELS |||||||`,
        );
        continue;
      }
      const beforePeak = input.width * input.height * 204 + outPixels * 15;
      const wanted = args.variants.split(',') as ('before' | 'after')[];
      const variants = wanted.filter((v) => v === 'after' || beforePeak <= Number(args['before-cap-gb']) * GB);
      const estimate = estimateJobMemory({
        width: input.width,
        height: input.height,
        scale,
        upscaleModel: 'realesrgan-x4fast',
        faces: 0,
      });
      for (let r = 0; r < Number(args.runs); r++) {
        for (const variant of variants) {
          const m = await measure(input.path, scale, variant);
          const job = m.peakBytes - m.baselineBytes;
          const goal = m.baselineBytes + 300 * MB + 4 * outPixels;
          console.log(
            `| ${mp} MP (${m.input.join('×')}) | ×${scale} | ${m.output.join('×')} | ${variant} | ${fmt(m.baselineBytes)} | ${fmt(m.peakBytes)} | ${fmt(job)} | ${variant === 'after' ? fmt(estimate.bytes) : '—'} | ${fmt(goal)} ${m.peakBytes <= goal ? '✔' : '✘'} | ${m.seconds.toFixed(1)} | ${(m.seconds + m.tiles * m.warmSeconds).toFixed(0)} |`,
          );
        }
      }
      if (wanted.includes('before') && !variants.includes('before'))
        console.log(
          `| ${mp} MP | ×${scale} | | before | not run: needs ≈ ${fmt(beforePeak)} over the idle worker |||||||`,
        );
    }
  }
  console.log(
    `\nload at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
