/**
 * Event streams cost storage reads per change, not per viewer: every viewer of a task on one instance shares the
 * hub's single read loop, woken by change notices. A counting wrapper around the real (embedded) storage proves
 * it: the same changes watched by 1 and by 10 viewers cost the same reads.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EnhanceOptionsSchema, newId, type TaskRecord } from '@photoenhance/contracts';
import { createInProcessTaskChannel, createTaskRepository, keys, type Storage } from '@photoenhance/core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadApiConfig } from '../../src/config.ts';
import { startTestApi, type TestApi } from '../harness.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.dispose();
});

/** Counts reads of task records and cancel markers through a real storage. */
function countingStorage(storage: Storage) {
  const counts = { taskReads: 0 };
  const counted: Storage = {
    ...storage,
    async readJson(key, parse) {
      if (key.startsWith('tasks/')) counts.taskReads++;
      return storage.readJson(key, parse);
    },
    async readJsonVersioned(key, parse) {
      if (key.startsWith('tasks/')) counts.taskReads++;
      return storage.readJsonVersioned(key, parse);
    },
  };
  return { storage: counted, counts };
}

/**
 * An app on the shared backend whose storage reads go through `storage` and whose notices come from `channel`;
 * only notices may cause reads (the safety-net poll and keep-alives are far beyond any test here).
 */
function watchingApp(storage: Storage, channel: ReturnType<typeof createInProcessTaskChannel>) {
  const config = loadApiConfig({
    ...Object.fromEntries(Object.entries(api.config).map(([k, v]) => [k, String(v)])),
    SSE_FALLBACK_POLL_MS: '300000',
    SSE_KEEPALIVE_MS: '300000',
  });
  return createApp({
    storage,
    queue: api.backend.queue,
    config,
    logger: pino({ level: 'silent' }),
    taskChanges: channel,
  });
}

/** Collects a stream's events as they arrive. */
function collect(res: Response) {
  const events: { event: string; data: string }[] = [];
  let ended = false;
  const done = (async () => {
    if (!res.body) throw new Error('no body');
    let buffer = '';
    for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        if (event) events.push({ event, data: /^data: (.*)$/m.exec(block)?.[1] ?? '' });
      }
    }
    ended = true;
  })();
  return { events, done, ended: () => ended };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function queuedRecord(taskId: string): TaskRecord {
  const now = new Date().toISOString();
  return {
    version: 1,
    taskId,
    status: 'queued',
    progress: 0,
    stage: 'queued',
    attempts: 0,
    options: EnhanceOptionsSchema.parse({}),
    input: {
      key: keys.input(taskId, 'a.png'),
      filename: 'a.png',
      contentType: 'image/png',
      bytes: 10,
      width: 4,
      height: 4,
      format: 'png',
    },
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * Opens `viewers` streams on one task, makes `changes` progress writes (each announced, each seen by every
 * viewer before the next), then completes the task; returns the task-record reads the instance made meanwhile.
 */
async function watchedRun(viewers: number, changes: number, { carry = false } = {}): Promise<number> {
  const channel = createInProcessTaskChannel();
  const { storage, counts } = countingStorage(api.backend.storage);
  const app = watchingApp(storage, channel);
  const tasks = createTaskRepository(api.backend.storage);
  const taskId = newId();
  let record = await tasks.write(queuedRecord(taskId));
  counts.taskReads = 0;

  const streams: ReturnType<typeof collect>[] = [];
  for (let i = 0; i < viewers; i++) {
    const res = await app.request(`/api/v1/tasks/${taskId}/events`);
    expect(res.status).toBe(200);
    streams.push(collect(res));
  }
  await until(() => streams.every((s) => s.events.length === 1), 'the first event on every stream');
  for (let i = 1; i <= changes; i++) {
    record = await tasks.write({
      ...record,
      status: 'processing',
      stage: 'upscale',
      progress: i * 10,
      updatedAt: new Date(Date.parse(record.updatedAt) + 1).toISOString(),
    });
    channel.publish(carry ? { taskId, record } : { taskId });
    await until(() => streams.every((s) => s.events.length === i + 1), `change ${i} on every stream`);
  }
  const final = await tasks.write({
    ...record,
    status: 'completed',
    stage: 'done',
    progress: 100,
    completedAt: new Date().toISOString(),
    updatedAt: new Date(Date.parse(record.updatedAt) + 1).toISOString(),
  });
  channel.publish(carry ? { taskId, record: final } : { taskId });
  await Promise.all(streams.map((s) => s.done));
  for (const s of streams) {
    expect(s.events.map((e) => e.event)).toEqual([...Array(changes + 1).fill('progress'), 'completed']);
  }
  return counts.taskReads;
}

describe('task watch hub', () => {
  it('viewers share one read loop: 10 viewers cost the reads of 1, and reads follow changes', async () => {
    const one = await watchedRun(1, 4);
    const ten = await watchedRun(10, 4);
    expect(ten).toBe(one);
    // One readState (record + cancel marker) per state: the first, 4 changes, the final one.
    expect(one).toBe(2 * (1 + 4 + 1));
  });

  it('a notice carrying its record (the worker in this process) costs no read: only the first state is read', async () => {
    const reads = await watchedRun(3, 4, { carry: true });
    // The first readState (record + cancel marker); the 4 changes and the final state come with their notices.
    expect(reads).toBe(2);
  });

  it('a carried record not newer than the state held is not trusted: the hub reads instead', async () => {
    const channel = createInProcessTaskChannel();
    const { storage, counts } = countingStorage(api.backend.storage);
    const app = watchingApp(storage, channel);
    const tasks = createTaskRepository(api.backend.storage);
    const taskId = newId();
    const queued = await tasks.write(queuedRecord(taskId));
    const stream = collect(await app.request(`/api/v1/tasks/${taskId}/events`));
    await until(() => stream.events.length === 1, 'the first event');
    const running = await tasks.write({
      ...queued,
      status: 'processing',
      stage: 'upscale',
      progress: 40,
      updatedAt: new Date(Date.parse(queued.updatedAt) + 1).toISOString(),
    });
    channel.publish({ taskId, record: running });
    await until(() => stream.events.length === 2, 'the carried change');
    counts.taskReads = 0;
    // A late notice of an older write: its record must not replace the newer state; storage decides.
    channel.publish({ taskId, record: { ...queued, progress: 5 } });
    await until(() => counts.taskReads === 2, 'the read the stale notice caused');
    await tasks.write({
      ...running,
      status: 'completed',
      stage: 'done',
      progress: 100,
      completedAt: new Date().toISOString(),
      updatedAt: new Date(Date.parse(running.updatedAt) + 1).toISOString(),
    });
    channel.publish({ taskId });
    await stream.done;
    const progress = stream.events.filter((e) => e.event === 'progress').map((e) => JSON.parse(e.data).percent);
    expect(progress).toEqual([0, 40]);
    expect(stream.events.at(-1)?.event).toBe('completed');
  });

  it('a cancel through this instance reaches its viewers at once, not at the next safety-net read', async () => {
    const channel = createInProcessTaskChannel();
    const app = watchingApp(api.backend.storage, channel);
    const taskId = newId();
    await createTaskRepository(api.backend.storage).write(queuedRecord(taskId));
    const stream = collect(await app.request(`/api/v1/tasks/${taskId}/events`));
    await until(() => stream.events.length === 1, 'the first event');
    expect((await app.request(`/api/v1/tasks/${taskId}`, { method: 'DELETE' })).status).toBe(200);
    await stream.done;
    expect(stream.events.map((e) => e.event)).toEqual(['progress', 'cancelled']);
  });

  it('a batch stream reads each task once per change, and a finished task never again', async () => {
    const channel = createInProcessTaskChannel();
    const { storage, counts } = countingStorage(api.backend.storage);
    const app = watchingApp(storage, channel);
    const tasks = createTaskRepository(api.backend.storage);
    const ids = [newId(), newId(), newId(), newId()];
    const records = await Promise.all(ids.map((id) => tasks.write(queuedRecord(id))));
    const group = await app.request('/api/v1/batches', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_ids: ids }),
    });
    expect(group.status).toBeLessThan(300);
    const { batch_id: batchId } = (await group.json()) as { batch_id: string };
    counts.taskReads = 0;
    const stream = collect(await app.request(`/api/v1/batch/events/${batchId}`));
    await until(() => stream.events.length === 1, 'the first batch event');
    // Tasks finish one by one; each change is announced once.
    for (const [i, record] of records.entries()) {
      await tasks.write({
        ...record,
        status: 'completed',
        stage: 'done',
        progress: 100,
        completedAt: new Date().toISOString(),
        // A worker's write comes after the batch was made: the stream's event ids grow with it.
        updatedAt: new Date(Date.now() + 1 + i).toISOString(),
      });
      channel.publish({ taskId: record.taskId });
      await until(() => stream.events.length === i + 2, `batch event ${i + 2}`);
    }
    await stream.done;
    expect(stream.events.at(-1)?.event).toBe('completed');
    // 4 first reads + 1 per change, 2 GETs each: not tasks × events.
    expect(counts.taskReads).toBe(2 * (4 + 4));
  });
});
