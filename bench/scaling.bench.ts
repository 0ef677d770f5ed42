/**
 * `npm run bench:scaling`: does the fleet scale? N worker processes (`npm run start:worker`'s entry, N = 1, 2, 4,
 * 8, 16) share one queue; their engine stage is the stand-in of fixed cost (WORKER_STANDIN_ENGINE_MS), so what
 * is measured is the fleet — receive, claim, storage, fencing, acknowledge — not the models. 200 small tasks are
 * queued at once per N; reported: throughput (tasks/s) against N × one worker, queue wait p50/p95 (record
 * createdAt → startedAt), and the claim overhead per task (a worker's time per task beyond the engine stage).
 *
 * Backend: S3_ENDPOINT + SQS_ENDPOINT when set (MinIO + ElasticMQ, see bench:cost), else the embedded fauxqs in
 * this process. Sizes: SCALE_NS (1,2,4,8,16), SCALE_TASKS (200), WORKER_STANDIN_ENGINE_MS (250).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { EnhanceOptionsSchema, newId, type TaskRecord } from '@photoenhance/contracts';
import {
  CommonEnvSchema,
  connectBackend,
  createTaskRepository,
  type EmbeddedBackend,
  keys,
  loadConfig,
  startEmbeddedBackend,
} from '@photoenhance/core';
import sharp from 'sharp';

const NS = (process.env.SCALE_NS ?? '1,2,4,8,16').split(',').map(Number);
const TASKS = Number(process.env.SCALE_TASKS ?? 200);
const ENGINE_MS = Number(process.env.WORKER_STANDIN_ENGINE_MS ?? 250);
const WORKER_MAIN = fileURLToPath(new URL('../services/gpu-worker/src/main.ts', import.meta.url));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Starts one worker process and resolves once it says it receives jobs. */
function startWorker(env: Record<string, string>, index: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER_MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env, WORKER_ID: `scale-${index}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.includes('receiving jobs')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker ${index} exited (${code}) before it was ready`)));
  });
}

async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pe-scale-'));
  let embedded: EmbeddedBackend | undefined;
  let s3 = process.env.S3_ENDPOINT;
  let sqs = process.env.SQS_ENDPOINT;
  const backendName = s3 && sqs ? `external (S3 ${s3}, SQS ${sqs})` : 'embedded fauxqs (in the bench process)';
  if (!s3 || !sqs) {
    embedded = await startEmbeddedBackend({ dataDir, port: 0 });
    // The embedded backend accepts only its own (random) credentials: every process below signs with them.
    process.env.AWS_ACCESS_KEY_ID = embedded.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = embedded.credentials.secretAccessKey;
    s3 = embedded.s3Endpoint;
    sqs = embedded.sqsEndpoint;
  }
  const png = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#3080c0' } })
    .png()
    .toBuffer();
  console.log(`# bench:scaling — ${new Date().toISOString()}`);
  console.log(`backend: ${backendName}; ${TASKS} tasks per N; stand-in engine ${ENGINE_MS} ms`);
  console.log(
    `CPU: ${cpus()[0]?.model} ×${cpus().length}; load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log('| N | wall s | tasks/s | vs N × one | queue wait p50 / p95 s | claim overhead per task ms |');
  console.log('|---|---|---|---|---|---|');
  let single: number | undefined;
  try {
    for (const n of NS) {
      const suffix = newId().slice(0, 8);
      const env = {
        LOG_LEVEL: 'info',
        S3_ENDPOINT: s3,
        SQS_ENDPOINT: sqs,
        // The real servers' credentials (scripts/real-servers env.sh); or the embedded backend's own, set above.
        AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
        AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
        ...(process.env.S3_BUCKET ? { S3_BUCKET: process.env.S3_BUCKET } : {}),
        SQS_QUEUE_NAME: `scale-jobs-${suffix}`,
        SQS_DLQ_NAME: `scale-dlq-${suffix}`,
        WORKER_STANDIN_ENGINE_MS: String(ENGINE_MS),
        WORKER_PORT: '0',
        WORKER_HOST: '127.0.0.1',
        WORKER_WAIT_TIME_SECONDS: '5',
        ADDRESS_DISCOVERY: 'none',
      };
      const backend = await connectBackend(loadConfig(CommonEnvSchema, env));
      const tasks = createTaskRepository(backend.storage);
      const children: ChildProcess[] = [];
      try {
        children.push(...(await Promise.all(Array.from({ length: n }, (_, i) => startWorker(env, i)))));
        // What the API does per task, 8 at a time: input, record, job.
        const ids = Array.from({ length: TASKS }, () => newId());
        const options = EnhanceOptionsSchema.parse({ scale: 1 });
        const t0 = Date.now();
        for (let i = 0; i < ids.length; i += 8) {
          await Promise.all(
            ids.slice(i, i + 8).map(async (taskId) => {
              const inputKey = keys.input(taskId, 'p.png');
              await backend.storage.put(inputKey, png, { contentType: 'image/png' });
              await backend.queue.send({ version: 1, taskId, inputKey, options });
              const now = new Date().toISOString();
              await tasks.write({
                taskId,
                status: 'queued',
                options,
                input: {
                  key: inputKey,
                  filename: 'p.png',
                  contentType: 'image/png',
                  bytes: png.length,
                  width: 16,
                  height: 12,
                  format: 'png',
                },
                createdAt: now,
                updatedAt: now,
              });
            }),
          );
        }
        for (;;) {
          const depth = await backend.queue.depth();
          if (depth.visible + depth.inFlight === 0) break;
          await sleep(250);
        }
        const records = (await Promise.all(ids.map((id) => tasks.read(id)))).filter(
          (r): r is TaskRecord => r?.status === 'completed',
        );
        const wall = (Math.max(...records.map((r) => Date.parse(r.completedAt ?? r.updatedAt))) - t0) / 1000;
        const rate = records.length / wall;
        single ??= n === 1 ? rate : undefined;
        const waits = records
          .map((r) => (Date.parse(r.startedAt ?? r.updatedAt) - Date.parse(r.createdAt)) / 1000)
          .sort((a, b) => a - b);
        // Each worker is busy wall × n in all; beyond the engine stage that is the fleet's own cost per task.
        const overheadMs = ((wall * n) / records.length) * 1000 - ENGINE_MS;
        const ratio = single ? rate / (single * n) : Number.NaN;
        console.log(
          `| ${n} | ${wall.toFixed(1)} | ${rate.toFixed(2)} | ${Number.isNaN(ratio) ? '—' : ratio.toFixed(2)} | ${percentile(waits, 50).toFixed(1)} / ${percentile(waits, 95).toFixed(1)} | ${overheadMs.toFixed(0)} |${records.length < TASKS ? ` (${TASKS - records.length} not completed)` : ''}`,
        );
      } finally {
        await stopWorkers(children);
        backend.close();
      }
    }
    console.log(
      `load average at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await embedded?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
