/**
 * The face path at real scale: the GFPGAN-architecture stand-in (models/src/standin, 395.5 GFLOP, 340 MB,
 * random weights) through the whole engine, and the constant-weight rewrite checked on it. Its output is
 * noise: these tests are about plumbing, cost and exactness, never about how faces look.
 * Slow by nature (a few seconds per face on 2 cores); the file is generated into the model cache once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureModel, mulberry32, rewriteModulatedConvs } from '@photoenhance/models';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.ts';
import { FIXTURES } from './helpers.ts';

const STANDIN = 'gfpgan-standin';
let path: string;

beforeAll(async () => {
  path = (await ensureModel(STANDIN)).path;
});

describe('GFPGAN stand-in through the engine', () => {
  it('restores the portrait’s face with the stand-in, pastes it there only and says the result is noise', async () => {
    const engine = createEngine({ runtime: { executionProviders: ['cpu'] } });
    try {
      const photo = await readFile(join(FIXTURES, 'astronaut.jpg'));
      const result = await engine.enhance(photo, {
        scale: 1,
        backgroundUpsampler: false,
        face: { model: STANDIN },
        output: { format: 'png' },
      });
      expect(result.faces).toMatchObject({ detected: 1, restored: 1, model: STANDIN });
      expect(result.models).toContain(STANDIN);
      expect(result.warnings.join(' ')).toMatch(/stand-in with random weights: restored faces are noise/);
      const { data: before, info } = await sharp(photo).raw().toBuffer({ resolveWithObject: true });
      const after = await sharp(result.data).raw().toBuffer();
      // Mean absolute change inside the detected face vs in the image's corner (far from the face).
      const change = (x0: number, y0: number, x1: number, y1: number) => {
        let sum = 0;
        let n = 0;
        for (let y = y0; y < y1; y++)
          for (let x = x0; x < x1; x++)
            for (let c = 0; c < 3; c++) {
              const i = (y * info.width + x) * 3 + c;
              sum += Math.abs(before[i]! - after[i]!);
              n++;
            }
        return sum / n;
      };
      // The astronaut's face is around (230, 120) in the 512² fixture; the lower-left corner is suit and flag.
      expect(change(200, 90, 260, 150)).toBeGreaterThan(20);
      expect(change(0, info.height - 40, 40, info.height)).toBeLessThan(1);
    } finally {
      await engine.close();
    }
  });

  it('rewritten to constant weights, gives the same output as exported (max |Δ| ≤ 1e-4 over several inputs)', async () => {
    const bytes = await readFile(path);
    const rewritten = rewriteModulatedConvs(bytes);
    expect([rewritten.rewritten, rewritten.demodulated]).toEqual([23, 15]);
    const options = { logSeverityLevel: 3 as const };
    const face = await sharp(join(FIXTURES, 'astronaut.jpg')).resize(512, 512).removeAlpha().raw().toBuffer();
    const rand = mulberry32(12);
    const inputs = [
      Float32Array.from(
        { length: 3 * 512 * 512 },
        (_, i) => (face[(i % (512 * 512)) * 3 + Math.floor(i / 512 / 512)]! / 255) * 2 - 1,
      ),
      Float32Array.from({ length: 3 * 512 * 512 }, () => rand() * 2 - 1),
    ];
    const outputs: Float32Array[][] = [];
    for (const model of [bytes, rewritten.onnx]) {
      const session = await ort.InferenceSession.create(model, options);
      const outs: Float32Array[] = [];
      for (const x of inputs)
        outs.push(
          (await session.run({ input: new ort.Tensor('float32', x, [1, 3, 512, 512]) })).output!.data as Float32Array,
        );
      outputs.push(outs);
      await session.release();
    }
    for (let k = 0; k < inputs.length; k++) {
      const [a, b] = [outputs[0]![k]!, outputs[1]![k]!];
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      expect(diff).toBeLessThanOrEqual(1e-4);
    }
    // Different inputs give different outputs: the comparison is not of two constants.
    let spread = 0;
    for (let i = 0; i < outputs[0]![0]!.length; i++)
      spread = Math.max(spread, Math.abs(outputs[0]![0]![i]! - outputs[0]![1]![i]!));
    expect(spread).toBeGreaterThan(0.01);
  });
});
