/**
 * `npm run bench:watch-cpu`: what 100 watched tasks cost one API instance in CPU (issue 18: ≤ 10 % of a core).
 * The instance runs in its own process (bench/watch/api-with-writer.ts) with a stand-in for the workers: each of
 * WATCH_TASKS running tasks has its record rewritten every WATCH_WRITE_MS (2 s, the workers' progress cadence).
 * Per mode — notices (the in-process channel of `npm start`) and polling (SSE_POLL_MS, an instance without
 * notices) — the process's CPU (/proc/PID/stat) is read over WATCH_SECONDS with no viewer, then over
 * WATCH_SECONDS with one SSE viewer per task (the bench process holds them). The viewers' cost is the
 * difference; the total includes the stand-in writer, which a real API instance does not run.
 *
 * Backend: S3_ENDPOINT + SQS_ENDPOINT (MinIO + ElasticMQ), else the embedded fauxqs in the bench process
 * (bench/system/fleet-backend.ts). Sizes: WATCH_TASKS (100), WATCH_SECONDS (30), WATCH_WRITE_MS (2000).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { newId } from '@photoenhance/contracts';
import { openFleetBackend } from './system/fleet-backend.ts';
import { processCpuSeconds } from './system/process-cpu.ts';

const TASKS = Number(process.env.WATCH_TASKS ?? 100);
const SECONDS = Number(process.env.WATCH_SECONDS ?? 30);
const WRITE_MS = Number(process.env.WATCH_WRITE_MS ?? 2000);
const CHILD = fileURLToPath(new URL('./watch/api-with-writer.ts', import.meta.url));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Child {
  process: ChildProcess;
  url: string;
  taskIds: string[];
}

function startChild(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, [CHILD], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      const { url, taskIds } = JSON.parse(line.slice(6)) as { url: string; taskIds: string[] };
      resolve({ process: child, url, taskIds });
    });
    child.once('exit', (code) => reject(new Error(`API process exited (${code}) before it was ready`)));
  });
}

/** CPU % of one core used by `pid` over `seconds`. */
async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const before = (await processCpuSeconds(pid)) ?? Number.NaN;
  await sleep(seconds * 1000);
  const after = (await processCpuSeconds(pid)) ?? Number.NaN;
  return ((after - before) / seconds) * 100;
}

/** One SSE viewer per task, open until `signal` aborts; counts the events they got. */
function watchAll(child: Child, signal: AbortSignal): { events: () => number; done: Promise<unknown> } {
  let events = 0;
  const done = Promise.allSettled(
    child.taskIds.map(async (id) => {
      const res = await fetch(`${child.url}/api/v1/tasks/${id}/events`, {
        headers: { accept: 'text/event-stream' },
        signal,
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body ?? []) {
        events += (decoder.decode(chunk as Uint8Array, { stream: true }).match(/^event: /gm) ?? []).length;
      }
    }),
  );
  return { events: () => events, done };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pe-watch-'));
  const backend = await openFleetBackend(dataDir);
  console.log(`# bench:watch-cpu — ${new Date().toISOString()}`);
  console.log(
    `backend: ${backend.name}; ${TASKS} running tasks, each record rewritten every ${WRITE_MS} ms; ${SECONDS} s per phase`,
  );
  console.log(`CPU: ${cpus()[0]?.model} ×${cpus().length}; load average at start ${load()}`);
  console.log(
    '| mode | API process CPU, no viewer | with one SSE viewer per task | viewers cost (difference) | events received per viewer-second |',
  );
  console.log('|---|---|---|---|---|');
  try {
    for (const notices of [true, false]) {
      const suffix = newId().slice(0, 8);
      const child = await startChild({
        ...backend.env,
        WATCH_TASKS: String(TASKS),
        WATCH_WRITE_MS: String(WRITE_MS),
        WATCH_NOTICES: notices ? '1' : '0',
        SQS_QUEUE_NAME: `watch-jobs-${suffix}`,
        SQS_DLQ_NAME: `watch-dlq-${suffix}`,
        RATE_LIMIT_PER_MINUTE: '0',
        DATA_DIR: dataDir,
      });
      try {
        const pid = child.process.pid ?? 0;
        await sleep(3000); // start-up and the first round of writes are not the steady state
        const idle = await cpuPercent(pid, SECONDS);
        const stop = new AbortController();
        const viewers = watchAll(child, stop.signal);
        await sleep(2000); // the 100 streams open and send their first state
        const events0 = viewers.events();
        const watched = await cpuPercent(pid, SECONDS);
        const perViewerSecond = (viewers.events() - events0) / (TASKS * SECONDS);
        stop.abort();
        await viewers.done;
        console.log(
          `| ${notices ? 'notices (in-process)' : 'polling (SSE_POLL_MS)'} | ${idle.toFixed(1)} % | ${watched.toFixed(1)} % | **${(watched - idle).toFixed(1)} % of a core** | ${perViewerSecond.toFixed(2)} |`,
        );
      } finally {
        child.process.kill('SIGTERM');
        await new Promise((resolve) => child.process.once('exit', resolve));
      }
    }
    console.log(`load average at end ${load()}`);
  } finally {
    await backend.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
