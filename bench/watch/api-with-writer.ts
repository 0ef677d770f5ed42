/**
 * The process bench/watch-cpu.bench.ts measures: one API instance plus a stand-in for the workers of
 * WATCH_TASKS running tasks — each task's record rewritten every WATCH_WRITE_MS (a worker's progress cadence,
 * PROGRESS_MIN_INTERVAL_MS), the writes spread evenly over the interval. WATCH_NOTICES=1: the writes are
 * announced on an in-process channel the API listens to (the embedded `npm start`); otherwise the API polls
 * every SSE_POLL_MS (an instance in another process than the workers). The writer runs in both modes and in
 * both phases of the bench, so the viewers' cost is the difference the bench measures.
 *
 * Prints one line `READY <json {url, taskIds}>` on stdout, then runs until SIGTERM.
 */
import { createLogger, loadApiConfig, startApiServer } from '@photoenhance/api';
import { EnhanceOptionsSchema, newId, type TaskRecord } from '@photoenhance/contracts';
import { connectBackend, createInProcessTaskChannel, createTaskRepository, keys } from '@photoenhance/core';

const TASKS = Number(process.env.WATCH_TASKS ?? 100);
const WRITE_MS = Number(process.env.WATCH_WRITE_MS ?? 2000);
const NOTICES = process.env.WATCH_NOTICES === '1';

const config = loadApiConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
const channel = NOTICES ? createInProcessTaskChannel() : undefined;
const api = await startApiServer(config, createLogger('silent'), channel ? { taskChanges: channel } : {});
const backend = await connectBackend(config);
const tasks = createTaskRepository(backend.storage);

const now = () => new Date().toISOString();
const options = EnhanceOptionsSchema.parse({ scale: 1 });
const records: TaskRecord[] = [];
for (let i = 0; i < TASKS; i++) {
  const taskId = newId();
  records.push(
    await tasks.write({
      taskId,
      status: 'processing',
      stage: 'upscale',
      progress: 0,
      attempts: 1,
      attemptId: `watch-${i}`,
      options,
      input: {
        key: keys.input(taskId, 'p.png'),
        filename: 'p.png',
        contentType: 'image/png',
        bytes: 100,
        width: 16,
        height: 12,
        format: 'png',
      },
      createdAt: now(),
      startedAt: now(),
      updatedAt: now(),
    }),
  );
}

// One write every WRITE_MS / TASKS ms, round-robin over the tasks: each task changes every WRITE_MS.
let next = 0;
let writing = false;
const timer = setInterval(
  async () => {
    if (writing) return; // a slow store: skip a beat rather than pile writes up
    writing = true;
    const index = next++ % records.length;
    const record = records[index] as TaskRecord;
    try {
      const written = await tasks.write({ ...record, progress: (record.progress + 1) % 95, updatedAt: now() });
      records[index] = written;
      channel?.publish({ taskId: written.taskId });
    } finally {
      writing = false;
    }
  },
  Math.max(1, WRITE_MS / TASKS),
);

process.stdout.write(`READY ${JSON.stringify({ url: api.url, taskIds: records.map((r) => r.taskId) })}\n`);
process.once('SIGTERM', async () => {
  clearInterval(timer);
  await api.stop();
  backend.close();
  process.exit(0);
});
