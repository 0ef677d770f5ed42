/**
 * One measured job in a fresh process, for `bench/memory.bench.ts`: decode → x4fast upscale → resize to the
 * requested scale → encode, either as the engine does it now ("after": tiles resized as they come out of the
 * model into an 8-bit output) or as the main-branch engine did ("before": the whole ×4 result held as float,
 * one resize, float → integers at encode), from the same library functions. Prints one JSON line.
 *
 *   node bench/memory/run-one.ts --input photo.jpg --scale 2 --variant after [--max-tiles 3]
 *
 * --max-tiles caps real model runs: later tiles replay the last real output (same shape, same buffers), so
 * memory follows the whole pipeline while a 40 MP photo costs 3 model runs, not 600. Times then cover the
 * pipeline around the model, plus the capped runs.
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

/** Runs the model for the first `cap` tiles, then hands back the last real result (0 = no cap). */
function capped(
  session: ModelSession,
  cap: number,
): { session: ModelSession; runs: () => number; seconds: () => number } {
  let runs = 0;
  let seconds = 0;
  let last: Awaited<ReturnType<ModelSession['run']>> | undefined;
  return {
    session: {
      ...session,
      async run(feeds) {
        if (cap > 0 && runs >= cap && last) return last;
        const t = performance.now();
        const out = await session.run(feeds);
        seconds += (performance.now() - t) / 1000;
        runs++;
        // Keep the result alive for replay: the replayed tiles must not be disposed by the caller.
        if (cap > 0) {
          const tensor = Object.values(out)[0];
          if (tensor) tensor.dispose = () => {};
        }
        last = out;
        return out;
      },
    },
    runs: () => runs,
    seconds: () => seconds,
  };
}

const registry = createSessionRegistry(
  { executionProviders: ['cpu'], intraOpThreads: Number(args.threads) },
  { resolveModel: async (id) => ({ path: (await ensureModel(id)).path }) },
);
const raw = await registry.get(MODEL);
await registry.warmUp(MODEL, [1, 3, 64, 64]);
global.gc?.();
/** The idle worker: runtime, libvips and the loaded model. */
const baseline = process.memoryUsage().rss;
const model = capped(raw, maxTiles);

const file = await readFile(args.input);
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
    outputBytes: bytes,
  }),
);
await registry.close();
