/**
 * int8 vs fp32 benchmark (not a test): the engine's upscale path (decode → tiled Real-ESRGAN →
 * resize → encode, the "engine total" of bench:engine) with the fp32 file and with the int8 file the
 * manifest recipe builds (quantized here, whether or not it is shipped), arms interleaved run by run
 * so other load hits both alike; plus the PSNR of the int8 output against fp32 on the same photo,
 * the CPU model and its int8 flags, and the ORT MatMul peak measured in the same run.
 *
 *   npm run bench:int8                         # x4fast 512² → 2048², x4plus 256² → 1024²
 *   npm run bench:int8 -- --runs 5 --size 512 --plus-size 256 --models realesrgan-x4fast
 */

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createSessionRegistry, upscaleImage } from '@photoenhance/engine';
import { decodeImage, encodeImage, resizePlanar } from '@photoenhance/image';
import { ensureModel, fidelity, getModelEntry, quantizeUpscaler } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { cpuFlags, median, ms, time } from './measure.ts';
import { matmulPeak } from './peak.ts';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '512' },
    'plus-size': { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(Math.max(1, cpus().length)) },
    models: { type: 'string', default: 'realesrgan-x4fast,realesrgan-x4plus' },
    image: { type: 'string', default: 'packages/engine/tests/fixtures/faces/astronaut.jpg' },
  },
});
const runs = Number(args.runs);
const threads = Number(args.threads);

const work = await mkdtemp(join(tmpdir(), 'photoenhance-int8-bench-'));
const files = new Map<string, string>();
const registry = createSessionRegistry(
  { executionProviders: ['cpu'], intraOpThreads: threads },
  { resolveModel: async (ref) => ({ path: files.get(ref) ?? (await ensureModel(ref)).path }) },
);

console.log(`# int8 benchmark — ${new Date().toISOString()}`);
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; onnxruntime-node ${ort.env.versions.common}; ${threads} threads; median of ${runs} interleaved runs`,
);
console.log(`CPU flags: ${await cpuFlags({ markMissing: true })}`);
const peak = await matmulPeak(threads);
console.log(`ORT MatMul 2048² fp32 peak: ${peak.toFixed(0)} GFLOP/s\n`);

console.log(
  '| model | input → output | arm | build | inference | engine total | int8 speed-up (engine total) | PSNR vs fp32 whole / worst 64² |',
);
console.log('|---|---|---|---|---|---|---|---|');
try {
  for (const model of args.models.split(',')) {
    const size = Number(model === 'realesrgan-x4plus' ? args['plus-size'] : args.size);
    const int8 = getModelEntry(model).variants.int8;
    if (!int8) throw new Error(`${model} has no int8 recipe in the manifest`);
    const fp32Bytes = new Uint8Array(await readFile((await ensureModel(model)).path));
    const [int8Bytes, tBuild] = await time(() => quantizeUpscaler(fp32Bytes, int8.recipe));
    const int8Ref = `${model}@int8-bench`;
    files.set(int8Ref, join(work, `${model}.int8.onnx`));
    await writeFile(files.get(int8Ref)!, int8Bytes);
    const input = await sharp(await readFile(args.image))
      .resize(size, size, { fit: 'cover' })
      .jpeg({ quality: 92 })
      .toBuffer();
    const arms = [
      { name: 'fp32', ref: model, build: 0 },
      {
        name: `int8 (p${int8.recipe.percentile}${int8.recipe.floatEnds ? ', fp32 ends' : ''})`,
        ref: int8Ref,
        build: tBuild,
      },
    ];
    const sessions = await Promise.all(arms.map((a) => registry.get(a.ref)));
    for (const a of arms) await registry.warmUp(a.ref, [1, 3, size, size]);
    const totals = arms.map(() => [] as number[]);
    const inference = arms.map(() => [] as number[]);
    const outputs: Float32Array[] = [];
    for (let r = 0; r < runs; r++) {
      for (const [i, session] of sessions.entries()) {
        const t0 = performance.now();
        const decoded = await decodeImage(input);
        const [up, tUp] = await time(() => upscaleImage(session, decoded.rgb, 4, { tileSize: 0, tilePad: 10 }));
        const resized = await resizePlanar(up, size * 4, size * 4);
        await encodeImage(
          { rgb: resized, bitDepth: 8, isGrey: false, sourceFormat: 'jpeg', metadata: {} },
          { format: 'png', quality: 92, keepMetadata: false },
        );
        totals[i]!.push((performance.now() - t0) / 1000);
        inference[i]!.push(tUp);
        outputs[i] = up.data;
      }
    }
    const f = fidelity(outputs[1]!, outputs[0]!, 3, size * 4, size * 4);
    const base = median(totals[0]!);
    for (const [i, arm] of arms.entries()) {
      const t = median(totals[i]!);
      console.log(
        `| ${model} | ${size}² → ${size * 4}² | ${arm.name} | ${arm.build ? `${arm.build.toFixed(1)} s` : '—'} | ${ms(median(inference[i]!))} | ${ms(t)} | ${i === 0 ? '1.00×' : `**${(base / t).toFixed(2)}×**`} | ${i === 0 ? '—' : `${f.psnrDb.toFixed(2)} / ${f.worstPatchDb.toFixed(2)} dB`} |`,
      );
    }
  }
} finally {
  await registry.close();
  await rm(work, { recursive: true, force: true });
}
