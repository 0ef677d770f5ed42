/**
 * One measured job in a fresh process, for `bench/memory.bench.ts`: decode → x4fast upscale → resize to the
 * requested scale → encode, either as the engine does it now ("after": tiles resized as they come out of the
 * model into an 8-bit output) or as the main-branch engine did ("before": the whole ×4 result held as float,
 * one resize, float → integers at encode), from the same library functions. Prints one JSON line.
 *
 *   node bench/memory/run-one.ts --input photo.jpg --scale 2 --variant after [--max-tiles 3]
 *
 * --max-tiles caps real model runs (default 0: none after the warm-up): later tiles replay the last real
 * output (same shape, same buffers), so memory follows the whole pipeline while a 40 MP photo costs one
 * model run, not 165. Times then cover the pipeline around the model (plus the capped runs): the model's
 * own time is the same code before and after.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  createOutputAssembler,
  createSessionRegistry,
  type ModelSession,
  planUpscale,
  upscaleImage,
  upscaleTiles,
} from '@photoenhance/engine';
import {
  decodeImage,
  encodeImage,
  encodeInterleaved,
  type InterleavedImage,
  resizePlanar,
  scaledSize,
} from '@photoenhance/image';
import { ensureModel } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

const { values: args } = parseArgs({
  options: {
    input: { type: 'string' },
    scale: { type: 'string', default: '2' },
    variant: { type: 'string', default: 'after' },
    'max-tiles': { type: 'string', default: '0' },
    threads: { type: 'string', default: '2' },
  },
});
if (!args.input || (args.variant !== 'after' && args.variant !== 'before')) {
  console.error('usage: run-one.ts --input file --scale n --variant after|before [--max-tiles n]');
  process.exit(2);
}
const scale = Number(args.scale);
const maxTiles = Number(args['max-tiles']);
const MODEL = 'realesrgan-x4fast';
const TILE = { tileSize: 0, tilePad: 10 };

/**
 * Runs the model for the first `cap` tiles, then hands back the last real result — the warm-up's when
 * cap is 0. The warm-up runs one window of the job's own size, so ONNX Runtime's arena is in the baseline
 * as it is on a worker that has run a job.
 */
function capped(session: ModelSession, cap: number, warm: Awaited<ReturnType<ModelSession['run']>>) {
  let runs = 0;
  let seconds = 0;
  let last = warm;
  const keep = (out: typeof warm) => {
    // The replayed result must survive the caller's dispose().
    for (const tensor of Object.values(out)) tensor.dispose = () => {};
    return out;
  };
  keep(warm);
  return {
    session: {
      ...session,
      async run(feeds: Parameters<ModelSession['run']>[0]) {
        if (runs >= cap) return last;
        const t = performance.now();
        const out = await session.run(feeds);
        seconds += (performance.now() - t) / 1000;
        runs++;
        last = keep(out);
        return out;
      },
    } satisfies ModelSession,
    runs: () => runs,
    seconds: () => seconds,
  };
}

const registry = createSessionRegistry(
  { executionProviders: ['cpu'], intraOpThreads: Number(args.threads) },
  { resolveModel: async (id) => ({ path: (await ensureModel(id)).path }) },
);
const raw = await registry.get(MODEL);
const file = await readFile(args.input);
const header = await sharp(file).metadata();
const first = planUpscale(
  header.autoOrient?.width ?? header.width ?? 1,
  header.autoOrient?.height ?? header.height ?? 1,
  TILE,
)[0];
if (!first) throw new Error('no tiles');
const tWarm = performance.now();
const warm = await raw.run({
  [raw.inputNames[0] as string]: new ort.Tensor(
    'float32',
    new Float32Array(3 * first.windowWidth * first.windowHeight),
    [1, 3, first.windowHeight, first.windowWidth],
  ),
});
const warmSeconds = (performance.now() - tWarm) / 1000;
global.gc?.();
/** The idle worker after a job: runtime, libvips, the loaded model and its arena. */
const baseline = process.memoryUsage().rss;
const model = capped(raw, maxTiles, warm);

const t0 = performance.now();
const decoded = await decodeImage(file, { maxInputPixels: 100_000_000, maxOutputPixels: 2_000_000_000 });
const { width, height } = scaledSize(decoded.width, decoded.height, scale);
let bytes: number;
if (args.variant === 'after') {
  const out: InterleavedImage = {
    width,
    height,
    channels: 3,
    bitDepth: 8,
    data: new Uint8Array(width * height * 3),
  };
  const assembler = createOutputAssembler({
    sourceWidth: decoded.width,
    sourceHeight: decoded.height,
    modelScale: 4,
    tiles: planUpscale(decoded.width, decoded.height, TILE),
    out,
  });
  await upscaleTiles(model.session, decoded.rgb, 4, TILE, (data, offset, tile) => assembler.add(data, offset, tile));
  assembler.finish();
  const encoded = await encodeInterleaved(
    { pixels: out, isGrey: false, sourceFormat: 'jpeg', metadata: {} },
    { format: 'jpeg', quality: 92, keepMetadata: false },
  );
  bytes = encoded.data.length;
} else {
  const up = await upscaleImage(model.session, decoded.rgb, 4, TILE);
  const resized = await resizePlanar(up, width, height);
  const encoded = await encodeImage(
    { rgb: resized, bitDepth: 8, isGrey: false, sourceFormat: 'jpeg', metadata: {} },
    { format: 'jpeg', quality: 92, keepMetadata: false },
  );
  bytes = encoded.data.length;
}
const seconds = (performance.now() - t0) / 1000;
const peak = process.resourceUsage().maxRSS * 1024;
console.log(
  JSON.stringify({
    variant: args.variant,
    input: [decoded.width, decoded.height],
    output: [width, height],
    scale,
    baselineBytes: baseline,
    peakBytes: peak,
    seconds,
    modelRuns: model.runs(),
    tiles: planUpscale(decoded.width, decoded.height, TILE).length,
    modelSeconds: model.seconds(),
    warmSeconds,
    outputBytes: bytes,
  }),
);
await registry.close();
