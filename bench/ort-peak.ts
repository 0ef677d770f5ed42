import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

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

/** The practical peak of this machine (one 2048² fp32 MatMul, median of 5): the one measurement in peak.ts. */
export { matmulPeak as ortMatmulPeak } from './peak.ts';
