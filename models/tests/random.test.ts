import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../src/random.ts';

const take = (next: () => number, n: number): number[] => Array.from({ length: n }, next);

describe('mulberry32', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    expect(take(mulberry32(42), 64)).toEqual(take(mulberry32(42), 64));
    expect(take(mulberry32(42), 64)).not.toEqual(take(mulberry32(43), 64));
    // Seeds are taken as uint32: 2^32 + 42 is seed 42.
    expect(take(mulberry32(2 ** 32 + 42), 8)).toEqual(take(mulberry32(42), 8));
  });

  it('is uniform in [0, 1)', () => {
    const values = take(mulberry32(7), 20_000);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const counts = new Array<number>(10).fill(0);
    for (const v of values) counts[Math.floor(v * 10)]!++;
    // 2000 expected per decile (standard deviation ≈ 42): ±200 allows for chance, not for a skewed generator.
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });
});
