/**
 * `npm run bench:watch-cpu`: what 100 watched tasks cost one API instance in CPU (issue 18: ≤ 10 % of a core).
 * The instance runs alone in its own process (bench/watch/api-process.ts); the bench stands in for the workers
 * of WATCH_TASKS running tasks: each record is rewritten every WATCH_WRITE_MS (2 s, the workers' progress
 * cadence), the writes spread evenly. Three modes: notices with the record — each write announced over IPC
 * into the instance's in-process channel with the record written, as the embedded worker announces it; notices
 * with the id only — as a notice from S3 → SNS → SQS arrives, one read per change; and polling (SSE_POLL_MS, an
 * instance without notices). Per mode the instance's CPU (/proc/PID/stat) is read over WATCH_SECONDS with no
 * viewer, then over WATCH_SECONDS with one SSE viewer per task (held by the bench); the difference is what
 * watching costs, and "events per viewer-second" checks the viewers really followed the writes (≈ 1/2 s).
 *
 * Backend: S3_ENDPOINT + SQS_ENDPOINT (MinIO + ElasticMQ), else the embedded fauxqs in the bench process
 * (bench/system/fleet-backend.ts). Sizes: WATCH_TASKS (100), WATCH_SECONDS (30), WATCH_WRITE_MS (2000);
 * WATCH_MODES picks modes (default all: record,id,polling).
 * WATCH_API_NODE_OPTIONS goes to the API process's node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { newId, type TaskRecord } from '@photoenhance/contracts';
import {
  CommonEnvSchema,
  connectBackend,
  createTaskRepository,
  loadConfig,
  type TaskRepository,
} from '@photoenhance/core';
import { mapLimit } from '../services/api/src/routes/batch/map-limit.ts';
import { startCountingProxy } from './cost/counting-proxy.ts';
import { openFleetBackend } from './system/fleet-backend.ts';
import { processCpuSeconds } from './system/process-cpu.ts';
import { runningTaskRecord } from './watch/running-record.ts';

const TASKS = Number(process.env.WATCH_TASKS ?? 100);
const SECONDS = Number(process.env.WATCH_SECONDS ?? 30);
const WRITE_MS = Number(process.env.WATCH_WRITE_MS ?? 2000);
const CHILD = fileURLToPath(new URL('./watch/api-process.ts', import.meta.url));
/**
 * record: notices carry the record just written (the embedded default: worker and API share a process);
 * id: notices name the task only (workers elsewhere: S3 → SNS → SQS), one read per change; polling: no channel.
 */
const ALL_MODES = ['record', 'id', 'polling'] as const;
/** WATCH_MODES (comma-separated, e.g. `id`) runs only those modes, e.g. to profile one. */
const MODES = process.env.WATCH_MODES
  ? ALL_MODES.filter((m) => process.env.WATCH_MODES?.split(',').includes(m))
  : ALL_MODES;
const MODE_NAMES: Record<(typeof ALL_MODES)[number], string> = {
  record: 'notices with the record (in-process worker)',
  id: 'notices with the id (S3 → SNS → SQS)',
  polling: 'polling (SSE_POLL_MS)',
};
/** Writes in flight at most: a slow store delays the writer instead of piling requests up. */
const WRITES_IN_FLIGHT = 16;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Child {
  process: ChildProcess;
  url: string;
}

function startChild(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, [CHILD], {
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      ...(process.env.WATCH_API_NODE_OPTIONS ? { NODE_OPTIONS: process.env.WATCH_API_NODE_OPTIONS } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith('READY ')) resolve({ process: child, url: line.slice(6) });
    });
    child.once('exit', (code) => reject(new Error(`API process exited (${code}) before it was ready`)));
  });
}

/** The running tasks' records, as a worker would leave them after its claim. */
async function createRunningTasks(tasks: TaskRepository): Promise<TaskRecord[]> {
  const now = new Date().toISOString();
  return mapLimit(
    Array.from({ length: TASKS }, () => newId()),
    WRITES_IN_FLIGHT,
    (taskId, i) => tasks.write(runningTaskRecord(taskId, `watch-${i}`, now)),
  );
}

/** Rewrites one record every WRITE_MS / TASKS ms, round-robin; `announce` is called after each write. */
function startWriter(tasks: TaskRepository, records: TaskRecord[], announce: (written: TaskRecord) => void) {
  let next = 0;
  let inFlight = 0;
  let writes = 0;
  const timer = setInterval(
    () => {
      if (inFlight >= WRITES_IN_FLIGHT) return;
      const index = next++ % records.length;
      const record = records[index] as TaskRecord;
      inFlight++;
      tasks
        .write({ ...record, progress: (record.progress + 1) % 95, updatedAt: new Date().toISOString() })
        .then((written) => {
          records[index] = written;
          writes++;
          announce(written);
        })
        .catch(() => undefined)
        .finally(() => inFlight--);
    },
    Math.max(1, WRITE_MS / TASKS),
  );
  return { writes: () => writes, stop: () => clearInterval(timer) };
}

/** CPU % of one core used by `pid` over `seconds`. */
async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const before = (await processCpuSeconds(pid)) ?? Number.NaN;
  await sleep(seconds * 1000);
  const after = (await processCpuSeconds(pid)) ?? Number.NaN;
  return ((after - before) / seconds) * 100;
}

/** One SSE viewer per task, open until `signal` aborts; counts the events they got. */
function watchAll(
  child: Child,
  taskIds: string[],
  signal: AbortSignal,
): { events: () => number; opened: () => number; done: Promise<unknown> } {
  let events = 0;
  let opened = 0;
  const done = Promise.all(
    taskIds.map(async (id) => {
      const res = await fetch(`${child.url}/api/v1/tasks/${id}/events`, {
        headers: { accept: 'text/event-stream' },
        signal,
      });
      if (res.status !== 200) {
        console.error(`viewer of ${id}: HTTP ${res.status} ${await res.text()}`);
        return;
      }
      opened++;
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body ?? []) {
          events += (decoder.decode(chunk as Uint8Array, { stream: true }).match(/^event: /gm) ?? []).length;
        }
      } catch (err) {
        if (!signal.aborted) console.error(`viewer of ${id}: ${String(err)}`);
      }
    }),
  );
  return { events: () => events, opened: () => opened, done };
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
    '| mode | API process CPU, no viewer | with one SSE viewer per task | viewers cost (difference) | events per viewer-second (record writes per task-second) | storage reads/s: no viewer / viewers |',
  );
  console.log('|---|---|---|---|---|---|');
  try {
    for (const mode of MODES) {
      const notices = mode !== 'polling';
      const suffix = newId().slice(0, 8);
      const env = {
        ...backend.env,
        WATCH_NOTICES: notices ? '1' : '0',
        SQS_QUEUE_NAME: `watch-jobs-${suffix}`,
        SQS_DLQ_NAME: `watch-dlq-${suffix}`,
        RATE_LIMIT_PER_MINUTE: '0',
        // All viewers come from one address with no key: the per-key stream limit (20) would refuse most.
        MAX_EVENT_STREAMS_PER_KEY: String(TASKS * 2),
        DATA_DIR: dataDir,
      };
      const store = await connectBackend(loadConfig(CommonEnvSchema, env));
      const tasks = createTaskRepository(store.storage);
      const records = await createRunningTasks(tasks);
      // The instance's storage requests pass a counting proxy: reads per second next to its CPU.
      const s3Proxy = await startCountingProxy(backend.s3Endpoint, 's3');
      const child = await startChild({ ...env, S3_ENDPOINT: s3Proxy.url });
      const writer = startWriter(tasks, records, (written) => {
        if (!notices || !child.process.connected) return;
        child.process.send(
          mode === 'record' ? { taskId: written.taskId, record: written } : { taskId: written.taskId },
        );
      });
      try {
        const pid = child.process.pid ?? 0;
        await sleep(3000); // start-up and the first round of writes are not the steady state
        s3Proxy.reset();
        const idle = await cpuPercent(pid, SECONDS);
        const idleReads = s3Proxy.reset().s3.get / SECONDS;
        const stop = new AbortController();
        const viewers = watchAll(
          child,
          records.map((r) => r.taskId),
          stop.signal,
        );
        await sleep(2000); // the streams open and send their first state
        const events0 = viewers.events();
        const writes0 = writer.writes();
        s3Proxy.reset();
        const watched = await cpuPercent(pid, SECONDS);
        const watchedReads = s3Proxy.reset().s3.get / SECONDS;
        const perViewerSecond = (viewers.events() - events0) / (TASKS * SECONDS);
        const writesPerTaskSecond = (writer.writes() - writes0) / (TASKS * SECONDS);
        stop.abort();
        await viewers.done;
        console.log(
          `| ${MODE_NAMES[mode]} | ${idle.toFixed(1)} % | ${watched.toFixed(1)} % | **${(watched - idle).toFixed(1)} % of a core** (${viewers.opened()} viewers) | ${perViewerSecond.toFixed(2)} (writes ${writesPerTaskSecond.toFixed(2)}) | ${idleReads.toFixed(0)} / ${watchedReads.toFixed(0)} |`,
        );
      } finally {
        writer.stop();
        child.process.kill('SIGTERM');
        await new Promise((resolve) => child.process.once('exit', resolve));
        store.close();
        await s3Proxy.close();
      }
    }
    console.log(`load average at end ${load()}`);
  } finally {
    await backend.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
