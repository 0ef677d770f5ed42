/**
 * `npm run bench:scaling`: does the fleet scale? N worker processes (`npm run start:worker`'s entry, N = 1, 2, 4,
 * 8, 16) share one queue; their engine stage is the stand-in of fixed cost (WORKER_STANDIN_ENGINE_MS), so what
 * is measured is the fleet — receive, claim, storage, fencing, acknowledge — not the models.
 *
 * Per N: the workers start and idle on their long polls; the inputs and queued records of 12 tasks per worker
 * (at least 24, at most SCALE_TASKS) are written; then, clock started, the jobs are sent (16 at a time) and
 * the bench waits for the queue to drain. So the send is the only thing the bench does while the fleet works,
 * and every worker does the same number of rounds whatever N.
 *
 * Reported per N: throughput against N × one worker; queue wait p50/p95 (job sent → claimed); a worker's time
 * per task beyond the stand-in, split into "in the task" (claimed → completed: input GET, output PUT, final
 * record PUT) and "between tasks" (delete, receive, record read, claim PUT); and the CPU seconds per task of
 * every process involved — the workers, MinIO and ElasticMQ (their pid files from scripts/real-servers), the
 * bench itself — read from /proc. On a machine of C cores, C / (CPU seconds per task) is the most tasks a
 * second the fleet could do even with perfect coordination: the table prints that ceiling next to the
 * throughput, so a bend shows whether it is coordination or the machine.
 *
 * Stand-in 3000 ms by default: the middle of a real GPU job (~1–6 s per photo: a 2× portrait with face
 * restoration on a T4-class GPU), so the fleet's own work is the share of a task it is in production. The
 * stand-in is a wait, not work (standin-engine.ts: no image library, no ORT, no memory admission), so the CPU
 * columns are the fleet's alone. At 1 s the same fleet needs 16 × (CPU s per task) cores at N = 16 — printed
 * as the ceiling, so a shorter stand-in shows where a machine runs out (WORKER_STANDIN_ENGINE_MS=1000).
 *
 * Backend: S3_ENDPOINT + SQS_ENDPOINT when set (MinIO + ElasticMQ), else the embedded fauxqs in this process
 * (bench/system/fleet-backend.ts). Sizes: SCALE_NS (1,2,4,8,16), SCALE_TASKS (200, the cap),
 * SCALE_TASKS_PER_WORKER (12), WORKER_STANDIN_ENGINE_MS (3000). SCALE_WORKER_NODE_OPTIONS goes to each worker's
 * node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { EnhanceOptionsSchema, newId, type TaskRecord } from '@photoenhance/contracts';
import { CommonEnvSchema, connectBackend, createTaskRepository, keys, loadConfig } from '@photoenhance/core';
import sharp from 'sharp';
import { mapLimit } from '../services/api/src/routes/batch/map-limit.ts';
import { openFleetBackend } from './system/fleet-backend.ts';
import { cpuSecondsOf, ownCpuSeconds } from './system/process-cpu.ts';
import { percentileOrNaN } from './system/stats.ts';

const NS = (process.env.SCALE_NS ?? '1,2,4,8,16').split(',').map(Number);
const MAX_TASKS = Number(process.env.SCALE_TASKS ?? 200);
const TASKS_PER_WORKER = Number(process.env.SCALE_TASKS_PER_WORKER ?? 12);
const MIN_TASKS = 24;
const ENGINE_MS = Number(process.env.WORKER_STANDIN_ENGINE_MS ?? 3000);
const WORKER_NODE_OPTIONS = process.env.SCALE_WORKER_NODE_OPTIONS;
const SEND_CONCURRENCY = 16;
const WORKER_MAIN = fileURLToPath(new URL('../services/gpu-worker/src/main.ts', import.meta.url));
const CORES = cpus().length;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Starts one worker process and resolves once it says it receives jobs. */
function startWorker(env: Record<string, string>, index: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER_MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      WORKER_ID: `scale-${index}`,
      ...(WORKER_NODE_OPTIONS ? { NODE_OPTIONS: WORKER_NODE_OPTIONS } : {}),
    },
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
  const backend = await openFleetBackend(dataDir);
  const png = await sharp({ create: { width: 16, height: 12, channels: 3, background: '#3080c0' } })
    .png()
    .toBuffer();
  const servers = [...backend.serverPids.keys()];
  console.log(`# bench:scaling — ${new Date().toISOString()}`);
  console.log(
    `backend: ${backend.name}; stand-in engine ${ENGINE_MS} ms; ${TASKS_PER_WORKER} tasks per worker (${MIN_TASKS}–${MAX_TASKS})`,
  );
  console.log(`CPU: ${cpus()[0]?.model} ×${CORES}; load average at start ${load()}`);
  console.log(
    `CPU measured: workers, ${servers.length > 0 ? servers.join(', ') : 'no server pids (embedded: in the bench)'}, bench`,
  );
  console.log(
    '| N | tasks | wall s | tasks/s | vs N × one | queue wait p50 / p95 s | per task beyond the stand-in: in task / between tasks ms | CPU s per task: workers / servers / bench | CPU ceiling tasks/s (cores ÷ CPU per task) | load avg |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  let single: number | undefined;
  const notes: string[] = [];
  try {
    for (const n of NS) {
      const count = Math.min(MAX_TASKS, Math.max(MIN_TASKS, TASKS_PER_WORKER * n));
      const suffix = newId().slice(0, 8);
      const env = {
        LOG_LEVEL: 'info',
        ...backend.env,
        SQS_QUEUE_NAME: `scale-jobs-${suffix}`,
        SQS_DLQ_NAME: `scale-dlq-${suffix}`,
        WORKER_STANDIN_ENGINE_MS: String(ENGINE_MS),
        WORKER_PORT: '0',
        WORKER_HOST: '127.0.0.1',
        WORKER_WAIT_TIME_SECONDS: '5',
        ADDRESS_DISCOVERY: 'none',
      };
      const queueBackend = await connectBackend(loadConfig(CommonEnvSchema, env));
      const tasks = createTaskRepository(queueBackend.storage);
      const children: ChildProcess[] = [];
      try {
        children.push(...(await Promise.all(Array.from({ length: n }, (_, i) => startWorker(env, i)))));
        // Untimed: what the API writes before the jobs go out (input and queued record).
        const ids = Array.from({ length: count }, () => newId());
        const options = EnhanceOptionsSchema.parse({ scale: 1 });
        await mapLimit(ids, SEND_CONCURRENCY, async (taskId) => {
          const inputKey = keys.input(taskId, 'p.png');
          await queueBackend.storage.put(inputKey, png, { contentType: 'image/png' });
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
        });
        await sleep(1000); // every worker in its long poll
        const pids = new Map<string, number[]>([['workers', children.map((c) => c.pid ?? 0)], ...backend.serverPids]);
        const cpu0 = await cpuSecondsOf(pids);
        const own0 = ownCpuSeconds();
        const sentAt = new Map<string, number>();
        const t0 = Date.now();
        await mapLimit(ids, SEND_CONCURRENCY, async (taskId) => {
          sentAt.set(taskId, Date.now());
          await queueBackend.queue.send({ version: 1, taskId, inputKey: keys.input(taskId, 'p.png'), options });
        });
        for (;;) {
          const depth = await queueBackend.queue.depth();
          if (depth.visible + depth.inFlight === 0) break;
          await sleep(250);
        }
        const cpu1 = await cpuSecondsOf(pids);
        const own1 = ownCpuSeconds();
        const loadNow = loadavg()[0] ?? Number.NaN;
        const records = (await Promise.all(ids.map((id) => tasks.read(id)))).filter(
          (r): r is TaskRecord => r?.status === 'completed',
        );
        const wall = (Math.max(...records.map((r) => Date.parse(r.completedAt ?? r.updatedAt))) - t0) / 1000;
        const rate = records.length / wall;
        single ??= n === 1 ? rate : undefined;
        const waits = records
          .map((r) => (Date.parse(r.startedAt ?? r.updatedAt) - (sentAt.get(r.taskId) ?? t0)) / 1000)
          .sort((a, b) => a - b);
        // Each worker is busy wall × n in all; beyond the engine stage that is the fleet's own time per task.
        const beyondMs = ((wall * n) / records.length) * 1000 - ENGINE_MS;
        const inTaskMs =
          mean(records.map((r) => Date.parse(r.completedAt ?? r.updatedAt) - Date.parse(r.startedAt ?? r.updatedAt))) -
          ENGINE_MS;
        const per = (s: number) => s / records.length;
        const delta = (name: string) => (cpu1.get(name) ?? 0) - (cpu0.get(name) ?? 0);
        const workersCpu = per(delta('workers'));
        const serversCpu = per(servers.reduce((sum, name) => sum + delta(name), 0));
        const benchCpu = per(own1 - own0);
        const cpuPerTask = workersCpu + serversCpu + benchCpu;
        const ceiling = CORES / cpuPerTask;
        const ratio = single ? rate / (single * n) : Number.NaN;
        console.log(
          `| ${n} | ${records.length} | ${wall.toFixed(1)} | ${rate.toFixed(2)} | ${Number.isNaN(ratio) ? '—' : ratio.toFixed(2)} | ${percentileOrNaN(waits, 50).toFixed(2)} / ${percentileOrNaN(waits, 95).toFixed(2)} | ${inTaskMs.toFixed(0)} / ${(beyondMs - inTaskMs).toFixed(0)} | ${workersCpu.toFixed(3)} / ${serversCpu.toFixed(3)} / ${benchCpu.toFixed(3)} | ${ceiling.toFixed(1)} | ${loadNow.toFixed(1)} |${records.length < count ? ` (${count - records.length} not completed)` : ''}`,
        );
        if (single && ratio < 0.9) {
          // Why it bends, in numbers: the CPU the run needed against what the machine had. With a load average
          // above the core count this run got about CORES / load of each core, so at most `available` tasks/s.
          const busyCores = cpuPerTask * rate;
          const available = ceiling * Math.min(1, CORES / Math.max(loadNow, Number.EPSILON));
          const cause =
            rate >= 0.9 * available
              ? 'the machine: the fleet got about all the CPU this load leaves it'
              : 'coordination (queue, storage round trips): the CPU left would allow more';
          notes.push(
            `N = ${n}: ${ratio.toFixed(2)} of N × one. ${cpuPerTask.toFixed(3)} CPU s per task × ${rate.toFixed(2)} tasks/s = ` +
              `${busyCores.toFixed(2)} of ${CORES} cores busy at a load average of ${loadNow.toFixed(1)} ` +
              `(≈ ${available.toFixed(1)} tasks/s of CPU available); N × one would need ${(cpuPerTask * single * n).toFixed(2)} cores. ` +
              `Limit: ${cause}.`,
          );
        }
      } finally {
        await stopWorkers(children);
        queueBackend.close();
      }
    }
    for (const note of notes) console.log(note);
    console.log(`load average at end ${load()}`);
  } finally {
    await backend.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
