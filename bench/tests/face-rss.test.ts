/**
 * Memory of the face path at real scale: a fresh process (as a worker) restores a 10-face group photo
 * with the GFPGAN-architecture stand-in and x4fast; its peak RSS must stay under 2.5 GB on CPU.
 * Slow (≈ 30 s on 2 cores: ten 395 GFLOP restorer runs); the stand-in is generated on first use.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('face restoration memory (issue 12)', () => {
  it('restores 10 faces in one photo with a peak RSS under 2.5 GB', async () => {
    const script = fileURLToPath(new URL('../face-standin.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [script, '--rss-child', '2', '--json'], {
      maxBuffer: 1 << 20,
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      detected: number;
      restored: number;
      peakBytes: number;
    };
    expect(report).toMatchObject({ detected: 10, restored: 10 });
    expect(report.peakBytes).toBeGreaterThan(0.5e9); // the model alone is 340 MB: a real measurement
    expect(report.peakBytes).toBeLessThan(2.5e9);
    // Ten GFPGAN-scale faces take 30 s on quiet cores and over 2 min on shared, loaded ones; the bound
    // here is memory, not time.
  }, 400_000);
});
