/**
 * The constant-weight form of a restorer (modulated-conv.ts) as a file in the model cache, made once
 * per source file content in a child process. Rewriting in the serving process would hold the model's
 * bytes twice in JS until a garbage collection, which raised a worker's peak RSS from 1.8 to 2.7 GB on
 * the 10-face photo; from a file, onnxruntime loads it like any other model.
 *
 *   node models/src/onnx/constant-weight-copy.ts <source.onnx> <target.onnx>   (what the child runs)
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { modelDir } from '../cache-dir.ts';
import { cachedSha256, tempPathFor, writeFileAtomic } from '../files.ts';
import { rewriteModulatedConvs } from './modulated-conv.ts';

export interface ConstantWeightCopy {
  /** The file to open: the rewritten copy, or the source itself when it has no modulated convolutions. */
  path: string;
  rewritten: number;
}

const SCRIPT = fileURLToPath(import.meta.url);
const inFlight = new Map<string, Promise<ConstantWeightCopy>>();

/** Returns (making it on first use) the constant-weight copy of `source` under <model dir>/derived. */
export function constantWeightCopy(source: string): Promise<ConstantWeightCopy> {
  let job = inFlight.get(source);
  if (!job) {
    job = make(source).finally(() => inFlight.delete(source));
    inFlight.set(source, job);
  }
  return job;
}

async function make(source: string): Promise<ConstantWeightCopy> {
  const sha = await cachedSha256(source);
  if (!sha) throw new Error(`${source}: no such file`);
  const dir = join(modelDir(), 'derived');
  const target = join(dir, `${basename(source, '.onnx')}.${sha.slice(0, 16)}.constant-weights.onnx`);
  const info = `${target}.json`;
  if (existsSync(info)) {
    const { rewritten } = JSON.parse(await readFile(info, 'utf8')) as { rewritten: number };
    if (rewritten === 0) return { path: source, rewritten };
    if ((await cachedSha256(target)) !== undefined) return { path: target, rewritten };
  }
  await mkdir(dir, { recursive: true });
  const tmp = tempPathFor(target);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, source, tmp], { maxBuffer: 1 << 16 });
    const result = JSON.parse(stdout) as { rewritten: number; demodulated: number };
    if (result.rewritten > 0) await rename(tmp, target);
    // Written last: its presence means the copy (if any) is complete.
    await writeFileAtomic(info, new TextEncoder().encode(`${JSON.stringify({ source: sha, ...result })}\n`));
    return { path: result.rewritten > 0 ? target : source, rewritten: result.rewritten };
  } finally {
    await rm(tmp, { force: true });
  }
}

if (process.argv[1] === SCRIPT && process.argv.length === 4) {
  const [source, target] = process.argv.slice(2) as [string, string];
  const result = rewriteModulatedConvs(await readFile(source));
  if (result.rewritten > 0) await writeFile(target, result.onnx);
  process.stdout.write(JSON.stringify({ rewritten: result.rewritten, demodulated: result.demodulated }));
}
