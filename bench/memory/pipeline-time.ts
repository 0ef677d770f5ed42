/**
 * Time of the pipeline around the model, before (whole ×4 float + one resize + float → integers) and after
 * (tiles resized into the integer output as they come), interleaved in one process, median of --runs; plus
 * one real x4fast run on the job's window, so the whole job's time can be put together:
 * total ≈ tiles × model run + pipeline. The model's own work is the same code before and after.
 *
 *   node bench/memory/pipeline-time.ts --megapixels 3 --scales 2,4 --runs 5
 */
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
  encodeImage,
  encodeInterleaved,
  type InterleavedImage,
  type PlanarImage,
  resizePlanar,
  scaledSize,
} from '@photoenhance/image';
import { ensureModel } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import { median } from '../measure.ts';

const { values: args } = parseArgs({
  options: {
    megapixels: { type: 'string', default: '3' },
    scales: { type: 'string', default: '2,4' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
  },
});
const TILE = { tileSize: 0, tilePad: 10 };
const width = Math.round(Math.sqrt((Number(args.megapixels) * 1e6 * 4) / 3) / 2) * 2;
const height = Math.round((width * 3) / 4 / 2) * 2;
const tiles = planUpscale(width, height, TILE);
const first = tiles[0] as (typeof tiles)[number];

const registry = createSessionRegistry(
  { executionProviders: ['cpu'], intraOpThreads: Number(args.threads) },
  { resolveModel: async (id) => ({ path: (await ensureModel(id)).path }) },
);
const model = await registry.get('realesrgan-x4fast');
// A smooth photo-like input: the model's real output on it is what every tile replays.
const image: PlanarImage = { width, height, channels: 3, data: new Float32Array(width * height * 3) };
for (let c = 0; c < 3; c++)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      image.data[c * width * height + y * width + x] = 0.5 + 0.4 * Math.sin((x + 7 * c) / 13) * Math.cos(y / 17);
const window = new Float32Array(3 * first.windowWidth * first.windowHeight);
const feeds = {
  [model.inputNames[0] as string]: new ort.Tensor('float32', window, [1, 3, first.windowHeight, first.windowWidth]),
};
await model.run(feeds);
const t = performance.now();
const real = await model.run(feeds);
const modelSeconds = (performance.now() - t) / 1000;
for (const tensor of Object.values(real)) tensor.dispose = () => {};
const replay: ModelSession = { ...model, run: async () => real };

const encode = { format: 'jpeg' as const, quality: 92, keepMetadata: false };
for (const scale of args.scales.split(',').map(Number)) {
  const out = scaledSize(width, height, scale);
  const before: number[] = [];
  const after: number[] = [];
  for (let r = 0; r < Number(args.runs); r++) {
    let t0 = performance.now();
    const up = await upscaleImage(replay, image, 4, TILE);
    const resized = await resizePlanar(up, out.width, out.height);
    await encodeImage({ rgb: resized, bitDepth: 8, isGrey: false, sourceFormat: 'jpeg', metadata: {} }, encode);
    before.push((performance.now() - t0) / 1000);
    t0 = performance.now();
    const pixels: InterleavedImage = {
      ...out,
      channels: 3,
      bitDepth: 8,
      data: new Uint8Array(out.width * out.height * 3),
    };
    const assembler = createOutputAssembler({
      sourceWidth: width,
      sourceHeight: height,
      modelScale: 4,
      tiles,
      out: pixels,
    });
    await upscaleTiles(replay, image, 4, TILE, (data, offset, tile) => assembler.add(data, offset, tile));
    assembler.finish();
    await encodeInterleaved({ pixels, isGrey: false, sourceFormat: 'jpeg', metadata: {} }, encode);
    after.push((performance.now() - t0) / 1000);
  }
  const b = median(before);
  const a = median(after);
  const modelTotal = tiles.length * modelSeconds;
  console.log(
    `| ${width}×${height} | ×${scale} | ${tiles.length} | ${modelTotal.toFixed(1)} s | ${b.toFixed(2)} s | ${a.toFixed(2)} s | ${(a / b).toFixed(2)}× | ${((modelTotal + a) / (modelTotal + b)).toFixed(3)}× |`,
  );
}
await registry.close();
