import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { OnnxGraphBuilder } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';

const FLAGS = ['avx2', 'avx512f', 'avx512_bf16', 'avx512_vnni', 'avx_vnni', 'amx_bf16', 'amx_int8', 'amx_tile'];

/** The CPU model and the SIMD flags ORT's kernels care about, from /proc/cpuinfo. */
export function cpuDescription(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  let flags: string[] = [];
  try {
    const line = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    const have = new Set(line.split(/\s+/));
    flags = FLAGS.filter((f) => have.has(f));
  } catch {
    // not Linux
  }
  return `${model}, ${cpus().length} cores, flags: ${flags.join(' ') || 'none of interest'}`;
}

/** The practical peak of this machine: one 2048² fp32 MatMul through onnxruntime-node, median of 5, in GFLOP/s. */
export async function ortMatmulPeak(threads: number, n = 2048): Promise<number> {
  const bytes = new OnnxGraphBuilder('matmul')
    .input('a', [n, n])
    .input('b', [n, n])
    .output('c', [n, n])
    .node('MatMul', ['a', 'b'], ['c'])
    .toBytes();
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, logSeverityLevel: 3 });
  const a = new ort.Tensor('float32', Float32Array.from({ length: n * n }, Math.random), [n, n]);
  await session.run({ a, b: a });
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await session.run({ a, b: a });
    times.push((performance.now() - t) / 1000);
  }
  await session.release();
  const median = [...times].sort((x, y) => x - y)[2] as number;
  return (2 * n ** 3) / median / 1e9;
}
