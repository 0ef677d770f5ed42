/**
 * `npm run bench:cost`: what each task, each viewer-minute and each idle minute costs in S3 and SQS requests,
 * and in dollars per million photos. The API and the worker each talk to S3 and SQS through their own counting
 * proxy (bench/cost/counting-proxy.ts), so their requests are counted apart. Two API instances run side by side:
 * `push` gets the worker's change notices (the embedded launcher's in-process channel), `poll` gets none (an
 * instance in another process than the workers, with no pub/sub): viewers are split between them.
 *
 * Backend: S3_ENDPOINT + SQS_ENDPOINT when set (MinIO + ElasticMQ: `bash scripts/real-servers/start.sh` then
 * `. $TMPDIR/photoenhance-real-servers-<port>/env.sh`), else the embedded fauxqs (said in the output).
 * The engine is the stand-in of fixed cost (WORKER_STANDIN_ENGINE_MS, default 900 ms as in issue 18).
 * Sizes: COST_IDLE_S (60), COST_TASKS (20), COST_WATCHED (5), COST_VIEWERS (5 per instance), COST_BATCH (8).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, loadApiConfig, type RunningApi, startApiServer } from '@photoenhance/api';
import { newId } from '@photoenhance/contracts';
import { createInProcessTaskChannel } from '@photoenhance/core';
import { loadWorkerConfig, startWorkerService, type WorkerService } from '@photoenhance/gpu-worker';
import sharp from 'sharp';
import { type CountingProxy, type Counts, startCountingProxy, totalS3, totalSqs } from './cost/counting-proxy.ts';
import { openFleetBackend } from './system/fleet-backend.ts';

/** AWS us-east-1 list prices (USD) used for the dollar figures; see bench/RESULTS.md for the date and source. */
export const PRICES = {
  s3PutPer1000: 0.005, // PUT, COPY, POST, LIST (S3 Standard)
  s3GetPer1000: 0.0004, // GET, SELECT and all other requests (HEAD included)
  sqsPerMillion: 0.4, // standard queue, per request (64 KiB chunk), beyond the free tier
};

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const IDLE_S = num('COST_IDLE_S', 60);
const TASKS = num('COST_TASKS', 20);
const WATCHED = num('COST_WATCHED', 5);
const VIEWERS = num('COST_VIEWERS', 5);
const BATCH = num('COST_BATCH', 8);
const ENGINE_MS = num('WORKER_STANDIN_ENGINE_MS', 900);

function dollars(c: Counts): number {
  return (
    ((c.s3.put + c.s3.list) / 1000) * PRICES.s3PutPer1000 +
    (c.s3.get / 1000) * PRICES.s3GetPer1000 +
    (totalSqs(c) / 1e6) * PRICES.sqsPerMillion
  );
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const describe = (c: Counts, per = 1) =>
  `S3 put ${fmt(c.s3.put / per)} get ${fmt(c.s3.get / per)} list ${fmt(c.s3.list / per)} delete ${fmt(c.s3.delete / per)} | SQS ${fmt(totalSqs(c) / per)} (${Object.entries(
    c.sqs,
  )
    .map(([k, v]) => `${k} ${fmt(v / per)}`)
    .join(', ')})`;

function scaled(c: Counts, factor: number): Counts {
  const sqs: Record<string, number> = {};
  for (const [k, v] of Object.entries(c.sqs)) sqs[k] = v * factor;
  return {
    s3: { put: c.s3.put * factor, get: c.s3.get * factor, list: c.s3.list * factor, delete: c.s3.delete * factor },
    sqs,
  };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pe-cost-'));
  const backend = await openFleetBackend(dataDir);
  const backendName = backend.name;
  const s3Target = backend.s3Endpoint;
  const sqsTarget = backend.sqsEndpoint;
  const proxies: Record<'pushS3' | 'pushSqs' | 'pollS3' | 'pollSqs' | 'workerS3' | 'workerSqs', CountingProxy> = {
    pushS3: await startCountingProxy(s3Target, 's3'),
    pushSqs: await startCountingProxy(sqsTarget, 'sqs'),
    pollS3: await startCountingProxy(s3Target, 's3'),
    pollSqs: await startCountingProxy(sqsTarget, 'sqs'),
    workerS3: await startCountingProxy(s3Target, 's3'),
    workerSqs: await startCountingProxy(sqsTarget, 'sqs'),
  };
  const suffix = newId().slice(0, 8);
  const common = {
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    SQS_QUEUE_NAME: `cost-jobs-${suffix}`,
    SQS_DLQ_NAME: `cost-dlq-${suffix}`,
    // Credentials and bucket; the endpoints are each role's counting proxy.
    ...backend.env,
  };
  const channel = createInProcessTaskChannel();
  const apis: RunningApi[] = [];
  let worker: WorkerService | undefined;
  try {
    const startApi = async (s3: CountingProxy, sqs: CountingProxy, push: boolean) => {
      const config = loadApiConfig({
        ...common,
        S3_ENDPOINT: s3.url,
        SQS_ENDPOINT: sqs.url,
        PORT: '0',
        HOST: '127.0.0.1',
        DOWNLOAD_MODE: 'redirect',
      });
      const api = await startApiServer(config, createLogger('silent'), push ? { taskChanges: channel } : {});
      apis.push(api);
      return api;
    };
    const push = await startApi(proxies.pushS3, proxies.pushSqs, true);
    const poll = await startApi(proxies.pollS3, proxies.pollSqs, false);
    worker = await startWorkerService({
      config: loadWorkerConfig({
        ...common,
        WORKER_ID: 'cost-worker',
        S3_ENDPOINT: proxies.workerS3.url,
        SQS_ENDPOINT: proxies.workerSqs.url,
        WORKER_STANDIN_ENGINE_MS: String(ENGINE_MS),
        WORKER_PORT: '0',
        WORKER_HOST: '127.0.0.1',
      }),
      taskChanges: channel,
    });
    const fencing = worker.worker.describe().fencing;
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c86428' } })
      .png()
      .toBuffer();
    const submit = async (apiUrl: string) => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'p.png');
      form.append('scale', '1');
      const res = await fetch(`${apiUrl}/api/v1/enhance`, { method: 'POST', body: form });
      // 200 since the PhotoEnhanceAI-compatible answer (issue 22); 202 before.
      if (res.status !== 200 && res.status !== 202) throw new Error(`submit: HTTP ${res.status} ${await res.text()}`);
      return ((await res.json()) as { task_id: string }).task_id;
    };
    const done = () => worker?.worker.describe().jobs.completed ?? 0;
    const waitDone = async (n: number) => {
      while (done() < n) await sleep(50);
    };
    const resetAll = () => Object.fromEntries(Object.entries(proxies).map(([k, p]) => [k, p.reset()]));
    const sum = (...cs: Counts[]): Counts => {
      const out = scaled(cs[0] as Counts, 1);
      for (const c of cs.slice(1)) {
        for (const k of ['put', 'get', 'list', 'delete'] as const) out.s3[k] += c.s3[k];
        for (const [a, v] of Object.entries(c.sqs)) out.sqs[a] = (out.sqs[a] ?? 0) + v;
      }
      return out;
    };
    const lines: string[] = [];
    const say = (line: string) => {
      lines.push(line);
      console.log(line);
    };
    say(`# bench:cost — ${new Date().toISOString()}`);
    say(`backend: ${backendName}; worker fencing: ${fencing}; stand-in engine ${ENGINE_MS} ms`);
    say(
      `CPU: ${cpus()[0]?.model} ×${cpus().length}; load average at start ${loadavg()
        .map((l) => fmt(l))
        .join(' ')}`,
    );

    // Idle: nothing submitted.
    await sleep(3000); // start-up requests (bootstrap, probe, first polls) are not idle cost
    resetAll();
    await sleep(IDLE_S * 1000);
    const idle = resetAll() as Record<keyof typeof proxies, Counts>;
    const minutes = IDLE_S / 60;
    say(`idle worker, per minute: ${describe(sum(idle.workerS3, idle.workerSqs), minutes)}`);
    say(`idle API instance, per minute: ${describe(sum(idle.pushS3, idle.pushSqs), minutes)}`);

    // Unwatched tasks, submitted through the push instance.
    let before = done();
    for (let i = 0; i < TASKS; i++) await submit(push.url);
    await waitDone(before + TASKS);
    await sleep(500);
    const unwatched = resetAll() as Record<keyof typeof proxies, Counts>;
    const apiTask = sum(unwatched.pushS3, unwatched.pushSqs);
    const workerTask = sum(unwatched.workerS3, unwatched.workerSqs);
    say(`unwatched task, API: ${describe(apiTask, TASKS)}`);
    say(
      `unwatched task, worker: ${describe(workerTask, TASKS)} (record read and writes, input, output; marker reads only without conditional writes)`,
    );
    const perTaskDollars = (dollars(apiTask) + dollars(workerTask)) / TASKS;
    say(`=> $${fmt(perTaskDollars * 1e6)} per million photos (S3 + SQS requests, unwatched, beyond GPUs)`);

    // Watched tasks: VIEWERS viewers per instance on each task, for its whole run.
    const ids: string[] = [];
    before = done();
    for (let i = 0; i < WATCHED; i++) ids.push(await submit(push.url));
    resetAll();
    const t0 = Date.now();
    const viewerSeconds = { push: 0, poll: 0 };
    const watch = async (apiUrl: string, id: string, key: 'push' | 'poll') => {
      const started = Date.now();
      const res = await fetch(`${apiUrl}/api/v1/tasks/${id}/events`, { headers: { accept: 'text/event-stream' } });
      await res.text(); // the stream ends with the final event
      viewerSeconds[key] += (Date.now() - started) / 1000;
    };
    await Promise.all(
      ids.flatMap((id) => [
        ...Array.from({ length: VIEWERS }, () => watch(push.url, id, 'push')),
        ...Array.from({ length: VIEWERS }, () => watch(poll.url, id, 'poll')),
      ]),
    );
    await waitDone(before + WATCHED);
    const watchedWall = (Date.now() - t0) / 1000;
    const watched = resetAll() as Record<keyof typeof proxies, Counts>;
    for (const key of ['push', 'poll'] as const) {
      const c = sum(watched[`${key}S3`], watched[`${key}Sqs`]);
      say(
        `watched (${key} instance, ${VIEWERS} viewers per task, ${WATCHED} tasks over ${fmt(watchedWall, 1)} s): ` +
          `${fmt(c.s3.get / (viewerSeconds[key] / 60))} storage reads per viewer-minute, ` +
          `${fmt(c.s3.get / WATCHED)} per watched task (${fmt(c.s3.get / watchedWall)} per second of the run)`,
      );
    }

    // A batch watched on each instance.
    const form = new FormData();
    for (let i = 0; i < BATCH; i++)
      form.append('files', new Blob([new Uint8Array(png)], { type: 'image/png' }), `b${i}.png`);
    form.append('scale', '1');
    const batchRes = await fetch(`${push.url}/api/v1/enhance/batch`, { method: 'POST', body: form });
    const { batch_id: batchId } = (await batchRes.json()) as { batch_id: string };
    before = done();
    resetAll();
    const b0 = Date.now();
    await Promise.all(
      [push.url, poll.url].map((u) =>
        fetch(`${u}/api/v1/batch/events/${batchId}`, { headers: { accept: 'text/event-stream' } }).then((r) =>
          r.text(),
        ),
      ),
    );
    const batchWall = (Date.now() - b0) / 1000;
    const batch = resetAll() as Record<keyof typeof proxies, Counts>;
    say(
      `batch of ${BATCH} watched ${fmt(batchWall, 1)} s: push instance ${batch.pushS3.s3.get} reads, poll instance ${batch.pollS3.s3.get} reads`,
    );
    const unwatchedTotal = totalS3(workerTask) / TASKS;
    say(`worker storage requests per task (unwatched): ${fmt(unwatchedTotal)}`);
    console.log('\n(copy the lines above into bench/RESULTS.md)');
  } finally {
    await worker?.stop({ graceMs: 0, abortReceive: backend.embedded }).catch(() => undefined);
    for (const api of apis) await api.stop().catch(() => undefined);
    for (const p of Object.values(proxies)) await p.close();
    await backend.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
