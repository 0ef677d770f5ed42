/**
 * One worker process for `npm run bench:video`: the real worker service (queue loop, leases, segment and
 * assemble jobs) over the endpoints in the environment, with either the real engine or, with
 * BENCH_FRAME_MS > 0, a stand-in frame stage of that fixed cost (a sleep, then the frame copied at scale 1),
 * so fan-out measures coordination, not the CPU the models would fight over on a small machine.
 * Bench-only: no worker option is added for it; the stand-in is injected through startWorkerService.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PhotoEnhanceError, throwIfAborted } from '@photoenhance/contracts';
import type { RgbFrame } from '@photoenhance/engine';
import { createLogger, loadWorkerConfig, startWorkerService, type WorkerEngine } from '@photoenhance/gpu-worker';

const config = loadWorkerConfig();
const frameMs = Number(process.env.BENCH_FRAME_MS ?? 0);
const standin: WorkerEngine = {
  async warmUp() {},
  async enhance() {
    throw new PhotoEnhanceError('INVALID_INPUT', 'the video bench stand-in takes frames only');
  },
  async enhanceFrame(frame: RgbFrame, _options, ctx) {
    await sleep(frameMs);
    throwIfAborted(ctx.signal);
    return {
      frame: { width: frame.width, height: frame.height, data: new Uint8Array(frame.data) },
      faces: { detected: 0, restored: 0, skipped: [] },
      models: ['standin'],
      timings: {},
      warnings: [],
    };
  },
  async detectFrameFaces() {
    return [];
  },
  async close() {},
};
const logger = createLogger(config.LOG_LEVEL, { workerId: config.WORKER_ID });
const service = await startWorkerService({ config, logger, ...(frameMs > 0 ? { engine: standin } : {}) });
process.on('SIGTERM', () => {
  service.stop({ graceMs: 1000 }).then(() => process.exit(0));
});
