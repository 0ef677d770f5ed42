/**
 * `npm run bench:multi-api`: M API instances (M = 2, 4) behind a round-robin balancer, as behind a load balancer:
 * tasks are submitted, watched (SSE), polled and downloaded through the balancer, so a viewer is usually on
 * another instance than the one that took the upload. No change notices cross instances (as between processes):
 * each instance's watch hub polls storage every SSE_POLL_MS. Reported per M: every viewer got its task's final
 * event, how long after the worker wrote it (p50/p95), status and download answered by any instance, and the
 * requests each instance served. One worker in this process, stand-in engine (WORKER_STANDIN_ENGINE_MS, 1000 ms).
 *
 * Backend: S3_ENDPOINT + SQS_ENDPOINT when set (MinIO + ElasticMQ), else the embedded fauxqs
 * (bench/system/fleet-backend.ts).
 * Sizes: MULTI_APIS (2,4), MULTI_TASKS (10), MULTI_VIEWERS (3 per task).
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadApiConfig, type RunningApi, startApiServer } from '@photoenhance/api';
import { newId } from '@photoenhance/contracts';
import { loadWorkerConfig, startWorkerService } from '@photoenhance/gpu-worker';
import sharp from 'sharp';
import { openFleetBackend } from './system/fleet-backend.ts';
import { startRelay } from './system/http-relay.ts';
import { percentileOrNaN } from './system/stats.ts';

const MS = (process.env.MULTI_APIS ?? '2,4').split(',').map(Number);
const TASKS = Number(process.env.MULTI_TASKS ?? 10);
const VIEWERS = Number(process.env.MULTI_VIEWERS ?? 3);
const ENGINE_MS = Number(process.env.WORKER_STANDIN_ENGINE_MS ?? 1000);

/**
 * The simplest balancer: each new request to the next instance, counting which instance served what.
 */
async function startRoundRobin(urls: string[]): Promise<{ url: string; served: number[]; close(): Promise<void> }> {
  const served = urls.map(() => 0);
  let next = 0;
  const targets = urls.map((u) => new URL(u));
  const relay = await startRelay(() => {
    const index = next++ % targets.length;
    served[index] = (served[index] ?? 0) + 1;
    return targets[index] as URL;
  });
  return { url: relay.url, served, close: () => relay.close() };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pe-multi-'));
  const backend = await openFleetBackend(dataDir);
  const png = await sharp({ create: { width: 24, height: 16, channels: 3, background: '#40a060' } })
    .png()
    .toBuffer();
  console.log(`# bench:multi-api — ${new Date().toISOString()}`);
  console.log(`backend: ${backend.name}; ${TASKS} tasks, ${VIEWERS} viewers each; stand-in engine ${ENGINE_MS} ms`);
  console.log(
    `CPU: ${cpus()[0]?.model} ×${cpus().length}; load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    '| M | final events seen | final write → viewer p50 / p95 ms | status + download via any instance | requests per instance |',
  );
  console.log('|---|---|---|---|---|');
  try {
    for (const m of MS) {
      const suffix = newId().slice(0, 8);
      const env = {
        LOG_LEVEL: 'silent',
        DATA_DIR: dataDir,
        ...backend.env,
        SQS_QUEUE_NAME: `multi-jobs-${suffix}`,
        SQS_DLQ_NAME: `multi-dlq-${suffix}`,
      };
      const apis: RunningApi[] = [];
      for (let i = 0; i < m; i++) {
        const config = loadApiConfig({ ...env, PORT: '0', HOST: '127.0.0.1', DOWNLOAD_MODE: 'proxy' });
        apis.push(await startApiServer(config, createLogger('silent')));
      }
      const balancer = await startRoundRobin(apis.map((a) => a.url));
      const worker = await startWorkerService({
        config: loadWorkerConfig({
          ...env,
          WORKER_ID: `multi-${suffix}`,
          WORKER_STANDIN_ENGINE_MS: String(ENGINE_MS),
          WORKER_WAIT_TIME_SECONDS: '2',
          WORKER_PORT: '0',
          WORKER_HOST: '127.0.0.1',
        }),
      });
      try {
        const latencies: number[] = [];
        let finals = 0;
        let answered = 0;
        await Promise.all(
          Array.from({ length: TASKS }, async (_, i) => {
            const form = new FormData();
            form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), `m${i}.png`);
            form.append('scale', '1');
            const res = await fetch(`${balancer.url}/api/v1/enhance`, { method: 'POST', body: form });
            const { task_id: taskId } = (await res.json()) as { task_id: string };
            await Promise.all(
              Array.from({ length: VIEWERS }, async () => {
                const events = await fetch(`${balancer.url}/api/v1/tasks/${taskId}/events`, {
                  headers: { accept: 'text/event-stream' },
                });
                const text = await events.text();
                const seenAt = Date.now();
                const final = /event: completed\ndata: (.*)\n/.exec(text);
                if (!final) return;
                finals++;
                const body = JSON.parse(final[1] as string) as { completed_at?: string };
                if (body.completed_at) latencies.push(seenAt - Date.parse(body.completed_at));
              }),
            );
            const status = (await (await fetch(`${balancer.url}/api/v1/status/${taskId}`)).json()) as {
              status: string;
              result?: { download_url: string };
            };
            const download = await fetch(`${balancer.url}${status.result?.download_url ?? ''}`);
            const bytes = Buffer.from(await download.arrayBuffer());
            if (status.status === 'completed' && bytes.equals(png)) answered++;
          }),
        );
        latencies.sort((a, b) => a - b);
        console.log(
          `| ${m} | ${finals} / ${TASKS * VIEWERS} | ${percentileOrNaN(latencies, 50).toFixed(0)} / ${percentileOrNaN(latencies, 95).toFixed(0)} | ${answered} / ${TASKS} | ${balancer.served.join(', ')} |`,
        );
      } finally {
        await worker.stop({ graceMs: 0 });
        await balancer.close();
        for (const api of apis) await api.stop();
      }
    }
    console.log(
      `load average at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await backend.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
