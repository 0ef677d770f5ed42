import { describe, expect, it } from 'vitest';
import { createHealthServer } from '../src/health-server.ts';
import { createWorkerMetrics } from '../src/metrics.ts';

describe('health server', () => {
  it('is live at once, ready only when the worker says so, and serves Prometheus metrics', async () => {
    let ready = false;
    const metrics = createWorkerMetrics();
    const server = createHealthServer({ ready: () => ready, describe: () => ({ workerId: 'w1' }) }, metrics);
    const port = await server.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    try {
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', workerId: 'w1' });
      expect((await fetch(`${base}/ready`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${base}/ready`)).status).toBe(200);

      metrics.jobs.inc({ outcome: 'completed' });
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toContain('photoenhance_worker_jobs_total{outcome="completed"} 1');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
