/**
 * Child process of memory-estimate.test.ts: one engine.enhance in a fresh process, printing the idle RSS
 * after warm-up (runtime, libvips, x4fast loaded) and the process's peak RSS after the job, as JSON.
 *
 *   node measure-job.ts <width> <height> <scale> <tileSize>
 */

import { mulberry32 } from '@photoenhance/models';
import sharp from 'sharp';
import { createEngine } from '../../src/pipeline/engine.ts';

const [width, height, scale, tileSize] = process.argv.slice(2).map(Number) as [number, number, number, number];
const noise = Buffer.alloc(width * height * 3);
const random = mulberry32(7);
for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(random() * 256);
const photo = await sharp(noise, { raw: { width, height, channels: 3 } })
  .png()
  .toBuffer();
const engine = createEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: 1 } });
const options = {
  scale,
  tileSize,
  quality: 'fast' as const,
  face: { enabled: false },
  output: { format: 'png' as const },
};
await engine.warmUp(options);
global.gc?.();
const idle = process.memoryUsage().rss;
const result = await engine.enhance(photo, options);
const peak = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ idle, peak, fileBytes: photo.length, width: result.width, height: result.height }));
await engine.close();
