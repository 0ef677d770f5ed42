/**
 * Issue 11 §2 on MinIO + ElasticMQ: the API process SIGKILLed again and again (≥ 10 kills) while slow clients
 * stream single and batch uploads into it, some kills mid-stream and some just after a body ended (when the API
 * stores, sends the job and writes the records), the API restarted each time on the same port. Afterwards the
 * queue is inspected before any worker runs, then a worker processes everything. What must hold:
 * no task record without its input, no job message pointing at a missing input, no record left queued or
 * processing, every batch record whole (tasks of a batch whose record never came are counted and must finish),
 * and every client either saw an error or got tasks that complete.
 */

import { isTerminalStatus, isValidId } from '@photoenhance/contracts';
import { createBatchRepository } from '@photoenhance/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiProc,
  connectScenario,
  type FormPart,
  figure,
  type Proc,
  scenarioEnv,
  seeded,
  sleep,
  slowMultipart,
  startApi,
  startWorker,
  taskReader,
} from './procs.ts';

const SEED = 1102;
const KILLS = 12;
const CLIENTS = 3;
const BATCH_FILES = 3;
/** A slow client: ~1 KiB every 30 ms, so a 64×64 noise PNG (≈ 12 KiB) takes ≈ 0.4 s to arrive. */
const PACE = { chunkBytes: 1024, delayMs: 30 };
const SIDE = 64;
/** The whole scenario's bound: past it the test fails rather than hang CI. */
const DEADLINE_MS = 150_000;

const env = scenarioEnv('apikills', {
  // A job whose record never came (the API died between message and record) is dropped 2 s after it was sent.
  WORKER_RECORD_GRACE_MS: '2000',
  PROGRESS_MIN_INTERVAL_MS: '200',
});

let api: ApiProc;
let port = 0;
let worker: Proc | undefined;

async function photo(seed: number): Promise<Buffer> {
  const rand = seeded(seed);
  const raw = Buffer.alloc(SIDE * SIDE * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(rand() * 256);
  return sharp(raw, { raw: { width: SIDE, height: SIDE, channels: 3 } })
    .png()
    .toBuffer();
}

beforeAll(async () => {
  api = await startApi(env);
  port = Number(new URL(api.url).port);
}, 120_000);

afterAll(async () => {
  await Promise.all([api?.kill('SIGTERM'), worker?.kill('SIGTERM')]);
});

interface Outcome {
  kind: 'single' | 'batch';
  /** HTTP status, or 0 when the connection failed (the API died under it). */
  status: number;
  taskIds: string[];
  batchId?: string;
}

describe('API process killed mid-upload and mid-batch', () => {
  it(`survives ${KILLS} SIGKILLs: every record has its input and finishes, no job without its input`, async () => {
    const t0 = Date.now();
    const rand = seeded(SEED);
    const images = await Promise.all(Array.from({ length: 8 }, (_, i) => photo(SEED + i)));
    const outcomes: Outcome[] = [];
    let up = true;
    let stop = false;
    let inFlight = 0;
    /** Resolvers waiting for the next body to be fully sent (the "after the body" kills). */
    let bodySent: (() => void)[] = [];

    async function client(id: number): Promise<void> {
      const pick = seeded(SEED * 31 + id);
      let n = 0;
      while (!stop) {
        if (!up) {
          await sleep(50);
          continue;
        }
        const batch = pick() < 0.35;
        const files = batch ? BATCH_FILES : 1;
        const parts: FormPart[] = [
          { name: 'scale', value: '2' },
          { name: 'quality_level', value: 'fast' },
          { name: 'face', value: 'false' },
        ];
        for (let f = 0; f < files; f++) {
          const image = images[Math.floor(pick() * images.length)] as Buffer;
          parts.push({ name: batch ? 'files' : 'file', value: image, filename: `c${id}-${n}-${f}.png` });
        }
        n++;
        const url = `${api.url}/api/v1/enhance${batch ? '/batch' : ''}`;
        inFlight++;
        const outcome: Outcome = { kind: batch ? 'batch' : 'single', status: 0, taskIds: [] };
        try {
          const res = await slowMultipart(url, parts, PACE, () => {
            const waiting = bodySent;
            bodySent = [];
            for (const w of waiting) w();
          });
          outcome.status = res.status;
          const body = (await res.json()) as { task_id?: string; batch_id?: string; tasks?: { task_id: string }[] };
          if (res.status === 200) {
            outcome.taskIds = body.task_id ? [body.task_id] : (body.tasks ?? []).map((t) => t.task_id);
            if (body.batch_id) outcome.batchId = body.batch_id;
          }
        } catch {
          // The connection died with the API: the client saw an error.
        } finally {
          inFlight--;
        }
        outcomes.push(outcome);
      }
    }

    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));
    let kills = 0;
    let afterBodyKills = 0;
    let midStreamKills = 0;
    while (kills < KILLS) {
      if (Date.now() - t0 > DEADLINE_MS) throw new Error(`kill phase over ${DEADLINE_MS} ms: ${kills} kills`);
      await sleep(300 + Math.floor(rand() * 900));
      if (kills % 2 === 0) {
        // Just after a body has arrived: the API is storing inputs, sending jobs, writing records.
        await new Promise<void>((resolve) => bodySent.push(resolve));
        await sleep(Math.floor(rand() * 60));
        afterBodyKills++;
      } else {
        while (inFlight === 0) await sleep(20);
        midStreamKills++;
      }
      up = false;
      await api.kill('SIGKILL');
      kills++;
      api = await startApi(env, port);
      up = true;
    }
    // A last stretch without kills, then the clients stop after their current request.
    await sleep(1000);
    stop = true;
    await Promise.all(clients);
    const killPhase = Date.now() - t0;

    const backend = await connectScenario(env);
    const tasks = taskReader(backend);
    const batches = createBatchRepository(backend.storage);

    // Before any worker runs: every job message must point at a stored input. Messages are looked at and put back.
    const seen = new Map<string, { taskId: string; inputKey: string; receiptHandle: string }>();
    for (;;) {
      const got = await backend.queue.receive({ max: 10, waitTimeSeconds: 1, visibilityTimeout: 60 });
      if (got.length === 0) break;
      for (const m of got) {
        if (m.job)
          seen.set(m.messageId, { taskId: m.job.taskId, inputKey: m.job.inputKey, receiptHandle: m.receiptHandle });
      }
    }
    let messagesWithoutInput = 0;
    for (const m of seen.values()) if (!(await backend.storage.head(m.inputKey))) messagesWithoutInput++;
    await Promise.all([...seen.values()].map((m) => backend.queue.changeVisibility(m.receiptHandle, 0)));

    // Now a worker runs every job; jobs whose record never came are dropped after the grace period.
    worker = await startWorker({ ...env, WORKER_ID: 'apikills' });
    const recordIds = async () =>
      (await backend.storage.list('tasks/'))
        .map((o) => /^tasks\/(.+)\.json$/.exec(o.key)?.[1])
        // Task records only: the worker's conditional-write probe lives under tasks/ too.
        .filter((id): id is string => id !== undefined && isValidId(id));
    for (;;) {
      if (Date.now() - t0 > DEADLINE_MS) throw new Error(`processing not finished in ${DEADLINE_MS} ms`);
      const ids = await recordIds();
      const records = await Promise.all(ids.map((id) => tasks.read(id)));
      const depth = await backend.queue.depth();
      if (records.every((r) => r && isTerminalStatus(r.status)) && depth.visible + depth.inFlight === 0) break;
      await sleep(500);
    }

    const ids = await recordIds();
    const records = (await Promise.all(ids.map((id) => tasks.read(id)))).filter((r) => r !== null);
    let recordsWithoutInput = 0;
    for (const r of records) if (!(await backend.storage.head(r.input.key))) recordsWithoutInput++;
    const stuck = records.filter((r) => !isTerminalStatus(r.status)).length;
    const completed = records.filter((r) => r.status === 'completed').length;
    const inputTaskIds = new Set(
      (await backend.storage.list('inputs/')).map((o) => o.key.split('/')[1]).filter((id): id is string => Boolean(id)),
    );
    const orphanInputs = [...inputTaskIds].filter((id) => !ids.includes(id)).length;

    // Batches: a batch record exists only whole; tasks of a batch whose record never came still finish.
    const batchIds = new Set(records.flatMap((r) => (r.batchId ? [r.batchId] : [])));
    let batchesNotWhole = 0;
    let halfCreatedBatches = 0;
    let halfCreatedTasks = 0;
    for (const batchId of batchIds) {
      const batch = await batches.read(batchId);
      if (!batch) {
        halfCreatedBatches++;
        halfCreatedTasks += records.filter((r) => r.batchId === batchId).length;
      } else if (!batch.taskIds.every((id) => ids.includes(id))) batchesNotWhole++;
    }

    // Every client: an error, or tasks that completed.
    const acknowledged = outcomes.filter((o) => o.status === 200);
    const ackTaskIds = acknowledged.flatMap((o) => o.taskIds);
    const byId = new Map(records.map((r) => [r.taskId, r]));
    const ackNotCompleted = ackTaskIds.filter((id) => byId.get(id)?.status !== 'completed').length;
    const ackBatchesMissing = (
      await Promise.all(acknowledged.filter((o) => o.batchId).map((o) => batches.read(o.batchId as string)))
    ).filter((b) => !b).length;
    const otherStatuses = outcomes.filter((o) => o.status !== 0 && o.status !== 200).map((o) => o.status);
    const depth = await backend.queue.depth();
    const dlq = await backend.queue.dlqDepth();
    backend.close();

    figure('API kills (SIGKILL)', `${kills} (${midStreamKills} mid-stream, ${afterBodyKills} just after a body)`);
    figure(
      'API-kill requests: sent / acknowledged (200) / connection errors',
      `${outcomes.length} (${outcomes.filter((o) => o.kind === 'batch').length} batches) / ${acknowledged.length} / ${outcomes.filter((o) => o.status === 0).length}`,
    );
    figure(
      'API-kill task records: created / acknowledged to clients / completed',
      `${records.length} / ${ackTaskIds.length} / ${completed}`,
    );
    figure('API-kill records stuck (queued or processing)', stuck);
    figure('API-kill records without their input', recordsWithoutInput);
    figure('API-kill job messages pointing at a missing input', `${messagesWithoutInput} of ${seen.size}`);
    figure('API-kill orphan inputs (stored, no record: expire with inputs/)', orphanInputs);
    figure(
      'API-kill half-created batches (no batch record; their tasks still finish)',
      `${halfCreatedBatches} (${halfCreatedTasks} tasks)`,
    );
    figure(
      'API-kill kill phase / whole scenario',
      `${Math.round(killPhase / 1000)} s / ${Math.round((Date.now() - t0) / 1000)} s`,
    );

    expect(kills).toBeGreaterThanOrEqual(10);
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(outcomes.some((o) => o.status === 0)).toBe(true);
    expect(otherStatuses).toEqual([]);
    expect(recordsWithoutInput).toBe(0);
    expect(messagesWithoutInput).toBe(0);
    expect(stuck).toBe(0);
    expect(batchesNotWhole).toBe(0);
    expect(ackNotCompleted).toBe(0);
    expect(ackBatchesMissing).toBe(0);
    expect(depth.visible + depth.inFlight + dlq.visible + dlq.inFlight).toBe(0);
  }, 240_000);
});
