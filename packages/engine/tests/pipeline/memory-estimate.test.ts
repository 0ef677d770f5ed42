import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { estimateJobMemory } from '@photoenhance/contracts';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./measure-job.ts', import.meta.url));

describe('estimateJobMemory against a measured engine run', () => {
  it('bounds the peak RSS a job adds to an idle engine, without overshooting it more than 2.5×', async () => {
    // 4 tiles (2 × 2) at ×2: the band, the blocks, the model's arena and the PNG all appear.
    const [width, height, scale, tileSize] = [480, 360, 2, 240];
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', CHILD, ...[width, height, scale, tileSize].map(String)],
      {
        timeout: 170_000,
      },
    );
    const measured = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
      idle: number;
      peak: number;
      fileBytes: number;
      width: number;
      height: number;
    };
    expect([measured.width, measured.height]).toEqual([960, 720]);
    const used = measured.peak - measured.idle;
    const { bytes } = estimateJobMemory({
      width,
      height,
      scale,
      tileSize,
      upscaleModel: 'realesrgan-x4fast',
      faces: 0,
      outputFormat: 'png',
      fileBytes: measured.fileBytes,
    });
    expect(used).toBeGreaterThan(0);
    expect(bytes).toBeGreaterThanOrEqual(used);
    expect(bytes).toBeLessThanOrEqual(used * 2.5);
  }, 180_000);
});
