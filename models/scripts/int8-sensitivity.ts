/**
 * Per-layer int8 sensitivity and mixed precision (not a test): quantizes one layer at a time (its conv
 * with the activation after it, u8 in and out, s8 weights; everything else fp32) and ranks the layers
 * by the PSNR of that model against fp32; then keeps the k most sensitive layers in fp32 (k = 0, 2,
 * 4, 8 by default) in the full static recipe and reports each one's PSNR (whole / worst 64²) on the
 * golden inputs and test photos, and its speed against fp32 (bare ORT, arms interleaved).
 *
 *   node models/scripts/int8-sensitivity.ts --model realesrgan-x4fast [--rank-side 128] [--size 256]
 *        [--runs 3] [--ks 0,2,4,8] [--equalize] [--bias-correction 2] [--percentile 99.9] [--float-output]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { fidelity } from '../src/fidelity.ts';
import { type Int8Recipe, imageToPlanar, quantizeUpscaler } from '../src/int8.ts';
import { convLayers } from '../src/onnx/equalize.ts';
import { ensureModel } from '../src/prepare.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'realesrgan-x4fast' },
    'rank-side': { type: 'string', default: '128' },
    'max-side': { type: 'string', default: '512' },
    size: { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
    ks: { type: 'string', default: '0,2,4,8' },
    equalize: { type: 'boolean', default: false },
    'bias-correction': { type: 'string', default: '0' },
    percentile: { type: 'string', default: '99.9' },
    'float-output': { type: 'boolean', default: false },
  },
});
const log = (msg: string): void => void process.stdout.write(`${msg}\n`);
const root = new URL('../../', import.meta.url).pathname;
const fp32 = new Uint8Array(readFileSync((await ensureModel(args.model)).path));
const base: Int8Recipe = {
  floatEnds: true,
  percentile: Number(args.percentile),
  equalize: args.equalize,
  biasCorrection: Number(args['bias-correction']),
  floatOutput: args['float-output'],
};
const files = [
  ...readdirSync(join(root, 'models/tests/fixtures/golden/inputs')).map((f) =>
    join(root, 'models/tests/fixtures/golden/inputs', f),
  ),
  ...readdirSync(join(root, 'packages/engine/tests/fixtures/faces'))
    .filter((f) => f.endsWith('.jpg'))
    .map((f) => join(root, 'packages/engine/tests/fixtures/faces', f)),
];
const load = async (file: string, side: number) => {
  const meta = await sharp(file).metadata();
  const big = Math.max(meta.width ?? 0, meta.height ?? 0) > side;
  const bytes = big
    ? await sharp(file).resize({ width: side, height: side, fit: 'inside' }).png().toBuffer()
    : readFileSync(file);
  return { name: basename(file), ...(await imageToPlanar(bytes)) };
};
const opts: InferenceSession.SessionOptions = { intraOpNumThreads: 2 };
const run = async (s: InferenceSession, input: { data: Float32Array; dims: readonly number[] }) =>
  (await s.run({ input: new Tensor('float32', input.data, input.dims) })).output!;

type Image = Awaited<ReturnType<typeof load>>;
const reference = await InferenceSession.create(fp32, opts);
const references = new Map<Image, Tensor>();
/** Min whole / min worst-patch PSNR, and the PSNR of the mean squared error over all images. */
async function score(model: Uint8Array, images: Image[]) {
  const session = await InferenceSession.create(model, opts);
  let psnr = Number.POSITIVE_INFINITY;
  let patch = Number.POSITIVE_INFINITY;
  let mse = 0;
  for (const image of images) {
    if (!references.has(image)) references.set(image, await run(reference, image));
    const ref = references.get(image)!;
    const out = await run(session, image);
    const [, c, h, w] = ref.dims as number[];
    const f = fidelity(out.data as Float32Array, ref.data as Float32Array, c!, h!, w!);
    psnr = Math.min(psnr, f.psnrDb);
    patch = Math.min(patch, f.worstPatchDb);
    mse += 10 ** (-f.psnrDb / 10) / images.length;
  }
  await session.release();
  return { psnr, patch, meanDb: -10 * Math.log10(mse) };
}

const layers = convLayers(fp32);
const convs = [...layers.keys()];
const inner = convs.slice(1, -1); // the first and last stay fp32 in every recipe
const rankImages = await Promise.all(files.map((f) => load(f, Number(args['rank-side']))));
log(`# ${args.model}: ${inner.length} layers ranked on ${rankImages.length} images ≤ ${args['rank-side']} px`);
log(`recipe: ${JSON.stringify(base)}\n`);
log('| layer (conv) | PSNR with only this layer int8: min whole / min worst 64² / mean-MSE dB |');
log('|---|---|');
const ranked: Array<{ conv: string; meanDb: number }> = [];
for (const conv of inner) {
  const others = inner.filter((c) => c !== conv);
  const model = await quantizeUpscaler(fp32, { ...base, floatLayers: others }, rankImages);
  const s = await score(model, rankImages);
  ranked.push({ conv, meanDb: s.meanDb });
  log(`| ${conv} | ${s.psnr.toFixed(2)} / ${s.patch.toFixed(2)} / ${s.meanDb.toFixed(2)} |`);
}
ranked.sort((a, b) => a.meanDb - b.meanDb);
log(`\nmost sensitive first: ${ranked.map((r) => r.conv).join(', ')}\n`);

const evalImages = await Promise.all(files.map((f) => load(f, Number(args['max-side']))));
const ks = args.ks.split(',').map(Number);
const arms: Array<{ name: string; session: InferenceSession }> = [{ name: 'fp32', session: reference }];
log(
  `| k layers fp32 | which | min PSNR whole / worst 64² (all ${evalImages.length} images ≤ ${args['max-side']} px) |`,
);
log('|---|---|---|');
for (const k of ks) {
  const keep = ranked.slice(0, k).map((r) => r.conv);
  const model = await quantizeUpscaler(fp32, { ...base, floatLayers: keep });
  const s = await score(model, evalImages);
  log(`| ${k} | ${keep.join(', ') || '—'} | ${s.psnr.toFixed(2)} / ${s.patch.toFixed(2)} |`);
  arms.push({ name: `k=${k}`, session: await InferenceSession.create(model, opts) });
}

const size = Number(args.size);
if (size > 0) {
  const resized = await imageToPlanar(
    await sharp(readFileSync(files.find((f) => f.endsWith('astronaut.jpg'))!))
      .resize(size, size)
      .png()
      .toBuffer(),
  );
  for (const arm of arms) await run(arm.session, resized);
  const times = arms.map(() => [] as number[]);
  for (let r = 0; r < Number(args.runs); r++) {
    for (const [i, arm] of arms.entries()) {
      const t = performance.now();
      await run(arm.session, resized);
      times[i]!.push(performance.now() - t);
    }
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  log(
    `\nspeed: ${size}² input, ${args.runs} interleaved runs after a warm-up, 2 threads, CPU ${cpus()[0]?.model}, load ${loadavg()[0]!.toFixed(2)}`,
  );
  for (const [i, arm] of arms.entries())
    log(`${arm.name}: median ${med(times[i]!).toFixed(0)} ms, ${(med(times[0]!) / med(times[i]!)).toFixed(2)}× fp32`);
}
