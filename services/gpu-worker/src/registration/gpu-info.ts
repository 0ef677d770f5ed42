import { execFile } from 'node:child_process';
import type { WorkerInfo } from '@photoenhance/contracts';

/** `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` output → GPU list. */
export function parseNvidiaSmi(stdout: string): WorkerInfo['gpu'] {
  return stdout
    .split('\n')
    .map((line) => line.split(',').map((s) => s.trim()))
    .filter(([name]) => Boolean(name))
    .map(([name, memory]) => {
      const memoryMiB = Number(memory);
      return Number.isFinite(memoryMiB) && memoryMiB > 0
        ? { name: String(name), memoryMiB: Math.round(memoryMiB) }
        : { name: String(name) };
    })
    .slice(0, 64);
}

/**
 * GPUs as nvidia-smi reports them; empty when there is none or no driver (CPU machines). Runs once at
 * registration, with a timeout, and never fails the caller.
 */
export function probeGpus(timeoutMs = 3000): Promise<WorkerInfo['gpu']> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits'],
      { timeout: timeoutMs },
      (err, stdout) => resolve(err ? [] : parseNvidiaSmi(stdout)),
    );
  });
}
