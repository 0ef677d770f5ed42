/** What every benchmark here measures and prints with: medians, wall time, and the CPU's kernel flags. */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
export const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;

/** The result of fn and the seconds it took. */
export async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, (performance.now() - t) / 1000];
}

const KERNEL_FLAGS = [
  'avx2',
  'fma',
  'avx512f',
  'avx512bw',
  'avx512_vnni',
  'avx512_bf16',
  'avx_vnni',
  'amx_tile',
  'amx_bf16',
  'amx_int8',
];

/**
 * The flags that decide ORT's kernels, from /proc/cpuinfo: those present, or (markMissing) each one
 * with "(no)" after those absent, where an absent one explains a result (int8 without VNNI/AMX).
 */
export async function cpuFlags(opts: { markMissing?: boolean } = {}): Promise<string> {
  const text = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const flags = new Set(/^flags\s*:\s*(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? []);
  if (opts.markMissing) return KERNEL_FLAGS.map((f) => `${f}${flags.has(f) ? '' : ' (no)'}`).join(', ');
  return KERNEL_FLAGS.filter((f) => flags.has(f)).join(' ') || 'unknown';
}
