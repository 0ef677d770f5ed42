/**
 * Issue 11 §1 and §4 on MinIO + ElasticMQ: two worker processes SIGKILLed whenever one is mid-engine (≥ 20 kills,
 * ≥ 20 tasks), restarted each time, then a poison input. Nothing may be lost or duplicated: every task ends
 * completed with exactly one output that decodes at the right size, `attempts` counts the kills, nothing stays
 * processing, no orphan output, and both queues end empty.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiProc,
  connectScenario,
  figure,
  type Proc,
  scenarioEnv,
  seeded,
  sleep,
  startApi,
  startWorker,
  taskReader,
} from './procs.ts';

const SEED = 11;
const MIN_KILLS = 20;
const MIN_TASKS = 20;
const MAX_TASKS = 60;
const SIDE = 192;
const SCALE = 2;
/** The whole scenario's bound: past it the test fails rather than hang CI. */
const DEADLINE_MS = 420_000;

const env = scenarioEnv('kills', {
  // A killed worker's job is back after at most 5 s; 8 receives leave room for 2 kills of one task.
  WORKER_LEASE_SECONDS: '5',
  VISIBILITY_TIMEOUT: '30',
  MAX_RECEIVE_COUNT: '8',
  WORKER_RETRY_BACKOFF_SECONDS: '1',
  PROGRESS_MIN_INTERVAL_MS: '100',
  WORKER_RECORD_GRACE_MS: '10000',
});

let api: ApiProc;
const workers: (Proc | undefined)[] = [undefined, undefined];
let generation = 0;
/** Restarts still warming up (a slot's old process stays in `workers` until its successor is ready). */
const restarts = new Set<Promise<Proc>>();

async function spawnWorker(slot: number): Promise<Proc> {
  const proc = await startWorker({ ...env, WORKER_ID: `w${slot}-g${generation++}` });
  workers[slot] = proc;
  return proc;
}

/** A deterministic noisy gradient: big enough (0.04 MP in 9 tiles) that the engine runs for a while. */
async function photo(seed: number): Promise<Buffer> {
  const rand = seeded(seed);
  const raw = Buffer.alloc(SIDE * SIDE * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.round(((i % (SIDE * 3)) / (SIDE * 3)) * 200 + rand() * 55);
  return sharp(raw, { raw: { width: SIDE, height: SIDE, channels: 3 } })
    .png()
    .toBuffer();
}

async function submit(image: Buffer, name: string): Promise<string> {
  const form = new FormData();
  form.append('file', new File([new Uint8Array(image)], name, { type: 'image/png' }));
  for (const [k, v] of Object.entries({ scale: String(SCALE), quality_level: 'fast', face: 'false', tile_size: '64' }))
    form.append(k, v);
  const res = await fetch(`${api.url}/api/v1/enhance`, { method: 'POST', body: form });
  const body = (await res.json()) as { task_id?: string };
  if (res.status !== 200 || !body.task_id) throw new Error(`upload refused: ${res.status} ${JSON.stringify(body)}`);
  return body.task_id;
}

beforeAll(async () => {
  api = await startApi(env);
  await Promise.all([spawnWorker(0), spawnWorker(1)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([api?.kill('SIGTERM'), ...workers.map((w) => w?.kill('SIGTERM'))]);
});

describe('worker processes killed mid-job', () => {
  it(`survives ≥ ${MIN_KILLS} SIGKILLs over ≥ ${MIN_TASKS} tasks: 0 lost, 0 duplicated`, async () => {
    const backend = await connectScenario(env);
    const tasks = taskReader(backend);
    const rand = seeded(SEED);
    const t0 = Date.now();
    const image = await photo(SEED);
    const ids: string[] = [];
    for (let i = 0; i < MIN_TASKS; i++) ids.push(await submit(image, `p${i}.png`));

    const killsOf = new Map<string, number>();
    const recoveries: number[] = [];
    /** Kills waiting for their task to be claimed again: task → { at, attemptId at the kill }. */
    const pending = new Map<string, { at: number; attemptId: string | undefined }>();
    let kills = 0;
    let restarting = 0;
    let maxRss = 0;

    for (;;) {
      if (Date.now() - t0 > DEADLINE_MS) throw new Error(`scenario over ${DEADLINE_MS} ms: ${kills} kills`);
      const records = await Promise.all(ids.map((id) => tasks.read(id)));
      for (const w of workers) maxRss = Math.max(maxRss, w?.rss() ?? 0);
      for (const [id, kill] of pending) {
        const r = records[ids.indexOf(id)];
        if (r && r.attemptId !== kill.attemptId) {
          recoveries.push(Date.now() - kill.at);
          pending.delete(id);
        }
      }
      const finished = records.every((r) => r && ['completed', 'failed', 'cancelled'].includes(r.status));
      if (finished && kills >= MIN_KILLS) break;
      if (finished && ids.length < MAX_TASKS) {
        // Not enough kills yet: more work to kill.
        for (let i = 0; i < 5; i++) ids.push(await submit(image, `more${ids.length}.png`));
        continue;
      }
      // The next kill need not wait for the last victim's restart (a warm-up takes seconds on a loaded machine):
      // the other worker may be hit meanwhile. A slot is a victim again only once its new process is up.
      if (kills < MIN_KILLS && restarting < workers.length) {
        // A victim: a task mid-engine (upscale stage), killed at most twice, on a worker that is up.
        const victims = records.filter(
          (r) =>
            r?.status === 'processing' &&
            r.stage === 'upscale' &&
            (killsOf.get(r.taskId) ?? 0) < 2 &&
            workers.some((w) => w?.alive() && w.name.endsWith(r.workerId ?? '?')),
        );
        const victim = victims[Math.floor(rand() * victims.length)];
        if (victim) {
          const slot = workers.findIndex((w) => w?.alive() && w.name.endsWith(victim.workerId ?? '?'));
          const proc = workers[slot];
          if (proc) {
            await proc.kill('SIGKILL');
            kills++;
            killsOf.set(victim.taskId, (killsOf.get(victim.taskId) ?? 0) + 1);
            pending.set(victim.taskId, { at: Date.now(), attemptId: victim.attemptId });
            restarting++;
            const restart: Promise<Proc> = spawnWorker(slot).finally(() => {
              restarting--;
              restarts.delete(restart);
            });
            restarts.add(restart);
          }
        }
      }
      await sleep(100 + Math.floor(rand() * 150));
    }

    // Every task: completed, one output object of the right size that decodes, attempts ≥ kills + 1.
    const records = await Promise.all(ids.map((id) => tasks.read(id)));
    let lost = 0;
    let duplicated = 0;
    for (const r of records) {
      if (r?.status !== 'completed' || !r.result) {
        lost++;
        continue;
      }
      const outputs = await backend.storage.list(`outputs/${r.taskId}/`);
      if (outputs.length !== 1) duplicated++;
      const bytes = await backend.storage.getBuffer(r.result.key);
      const meta = await sharp(bytes).metadata();
      expect([meta.width, meta.height, bytes.length]).toEqual([SIDE * SCALE, SIDE * SCALE, r.result.bytes]);
      expect(r.attempts).toBeGreaterThanOrEqual((killsOf.get(r.taskId) ?? 0) + 1);
    }
    // No output without its task (orphans), and no second completion in any worker's log.
    const allOutputs = await backend.storage.list('outputs/');
    const orphans = allOutputs.filter((o) => !ids.some((id) => o.key.startsWith(`outputs/${id}/`))).length;
    const completions = new Map<string, number>();
    for (const w of [...workers]) {
      for (const l of w?.lines ?? []) {
        // Log lines name a task by its ref (packages/core/src/logging/log-refs.ts), never by its id.
        if (l.msg === 'job completed')
          completions.set(String(l.task_ref), (completions.get(String(l.task_ref)) ?? 0) + 1);
      }
    }
    const depth = await backend.queue.depth();
    const dlq = await backend.queue.dlqDepth();
    const sortedRecoveries = [...recoveries].sort((a, b) => a - b);
    figure('worker kills (SIGKILL)', kills);
    figure('tasks (kill scenario)', ids.length);
    figure('tasks lost', lost);
    figure('tasks duplicated (more than one output object)', duplicated);
    figure('orphan output objects', orphans);
    figure('worker max RSS (kill scenario)', `${Math.round(maxRss / 2 ** 20)} MiB`);
    figure(
      'kill → task claimed again, median / max (includes waiting behind the backlog)',
      `${sortedRecoveries[Math.floor(sortedRecoveries.length / 2)] ?? 0} ms / ${sortedRecoveries.at(-1) ?? 0} ms`,
    );
    figure('kill scenario wall time', `${Math.round((Date.now() - t0) / 1000)} s`);
    backend.close();

    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(orphans).toBe(0);
    expect(records.filter((r) => r?.status === 'processing')).toEqual([]);
    expect(depth.visible + depth.inFlight + dlq.visible + dlq.inFlight).toBe(0);
    // The surviving workers' logs (killed ones' logs are cut off) never show a task completed twice.
    expect([...completions.values()].filter((n) => n > 1)).toEqual([]);
    expect(recoveries.length).toBeGreaterThan(0);
  }, 480_000);

  it("hands a killed worker's job to an idle worker within one lease (recovery time, 3 kills)", async () => {
    const backend = await connectScenario(env);
    const tasks = taskReader(backend);
    const image = await photo(SEED + 3);
    const times: number[] = [];
    for (let round = 0; round < 3; round++) {
      if (round === 0) {
        await Promise.all(restarts);
        await Promise.all(workers.map((w, slot) => (w?.alive() ? undefined : spawnWorker(slot))));
      }
      const id = await submit(image, `recovery${round}.png`);
      let victim = await tasks.read(id);
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && !(victim?.status === 'processing' && victim.stage === 'upscale')) {
        await sleep(50);
        victim = await tasks.read(id);
      }
      const slot = workers.findIndex((w) => w?.alive() && w.name.endsWith(victim?.workerId ?? '?'));
      await workers[slot]?.kill('SIGKILL');
      const killedAt = Date.now();
      let next = victim;
      while (Date.now() < deadline && next?.attemptId === victim?.attemptId) {
        await sleep(50);
        next = await tasks.read(id);
      }
      times.push(Date.now() - killedAt);
      while (Date.now() < deadline && (await tasks.read(id))?.status !== 'completed') await sleep(200);
      expect((await tasks.read(id))?.status).toBe('completed');
      await spawnWorker(slot);
    }
    backend.close();
    figure(
      `recovery: kill → job running on the idle worker (lease ${env.WORKER_LEASE_SECONDS} s), 3 kills`,
      times.map((t) => `${(t / 1000).toFixed(1)} s`).join(', '),
    );
    // At most one lease plus a receive wait and a poll: seconds, not the queue's visibility timeout.
    expect(Math.max(...times)).toBeLessThan((Number(env.WORKER_LEASE_SECONDS) + 6) * 1000);
  }, 420_000);

  it('fails a poison input (valid header, corrupt data) with a reason; other tasks keep flowing', async () => {
    const backend = await connectScenario(env);
    const tasks = taskReader(backend);
    const good = await photo(SEED + 1);
    // A PNG whose compressed pixel data is garbage: signature, IHDR and the chunk walk to IEND pass the API's
    // checks; the decoder fails on the inflate, on every attempt.
    const png = await sharp(good).png().toBuffer();
    const idat = png.indexOf(Buffer.from('IDAT'));
    const poison = Buffer.from(png);
    const from = idat + 4 + Math.floor(png.readUInt32BE(idat - 4) / 3);
    poison.fill(0xff, from, from + 64);
    const form = new FormData();
    form.append('file', new File([new Uint8Array(poison)], 'poison.png', { type: 'image/png' }));
    form.append('face', 'false');
    const res = await fetch(`${api.url}/api/v1/enhance`, { method: 'POST', body: form });
    const poisonId = ((await res.json()) as { task_id: string }).task_id;
    expect(res.status).toBe(200);
    const goodId = await submit(good, 'after-poison.png');

    const deadline = Date.now() + 120_000;
    let poisoned = await tasks.read(poisonId);
    let after = await tasks.read(goodId);
    while (Date.now() < deadline && !(poisoned?.completedAt && after?.status === 'completed')) {
      await sleep(250);
      [poisoned, after] = await Promise.all([tasks.read(poisonId), tasks.read(goodId)]);
    }
    const dlq = await backend.queue.dlqDepth();
    figure('poison input', `${poisoned?.status} after ${poisoned?.attempts} attempt(s): ${poisoned?.error?.code}`);
    backend.close();
    expect(poisoned?.status).toBe('failed');
    expect(poisoned?.error?.message.length).toBeGreaterThan(0);
    expect(poisoned?.attempts).toBeLessThanOrEqual(Number(env.MAX_RECEIVE_COUNT));
    expect(after?.status).toBe('completed');
    expect(dlq.visible + dlq.inFlight).toBe(0);
  }, 180_000);
});
