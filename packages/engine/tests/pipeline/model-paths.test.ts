import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPhotoEnhanceError } from '@photoenhance/contracts';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.ts';

describe('face.model paths', () => {
  it('are refused (INVALID_OPTIONS) unless the engine allows them: job options never name a file on a worker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pe-model-path-'));
    try {
      // A file that exists, so the refusal cannot be a "not found".
      const file = join(dir, 'x.onnx');
      await writeFile(file, 'not a model');
      const image = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } })
        .png()
        .toBuffer();
      const engine = createEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: 1 } });
      try {
        for (const model of [file, 'x.onnx', '..\\x']) {
          const err = await engine.enhance(image, { face: { model } }).catch((e: unknown) => e);
          expect(isPhotoEnhanceError(err) && err.code, model).toBe('INVALID_OPTIONS');
          expect(String((err as Error).message)).toMatch(/registered model id/);
        }
      } finally {
        await engine.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
