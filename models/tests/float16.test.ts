import { describe, expect, it } from 'vitest';
import { floatToHalfBits, halfBitsToFloat } from '../src/onnx/float16.ts';

describe('float16 conversions', () => {
  it('round-trips every finite half value exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfBitsToFloat(h);
      if (Number.isNaN(v)) {
        expect(((h >> 10) & 0x1f) === 31 && (h & 0x3ff) !== 0).toBe(true);
        continue;
      }
      expect(floatToHalfBits(v)).toBe(h);
    }
  });

  it('rounds floats to nearest even like Math.f16round', () => {
    // Math.f16round is the platform's own implementation (V8): an independent reference.
    const samples = [
      0.1,
      1 / 3,
      65504,
      65519.99,
      65520,
      1e-8,
      2 ** -25,
      2 ** -25 * 1.0001,
      3 * 2 ** -26,
      -123.456,
      6.1e-5,
    ];
    for (let i = 0; i < 5000; i++)
      samples.push((Math.sin(i * 12.9898) * 43758.5453) % 70000, Math.cos(i) * 2 ** ((i % 40) - 30));
    for (const v of samples) {
      const expected = Math.f16round(v);
      const got = halfBitsToFloat(floatToHalfBits(v));
      expect(Object.is(got, expected) || got === expected).toBe(true);
    }
  });
});
