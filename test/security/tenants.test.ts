/**
 * Two tenants against the real API (embedded backend in `npm test`, MinIO + ElasticMQ in `npm run test:real`):
 * tenant B tries every route on tenant A's ids and must get exactly the answer an unknown id gets; A's work is
 * untouched afterwards; the operator key sees everything; no key appears in any log line of the run.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '@photoenhance/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEngine, FAST_FORM } from '../harness/engine.ts';
import { testPhoto } from '../harness/images.ts';
import { type Stack, startStack, type WorkerHandle } from '../harness/stack.ts';
import { type Answer, capturingLogger, type TenantClient, tenantClient } from './tenant-client.ts';

const KEY_A = 'tenant-a-key-0123456789abcdef';
const KEY_B = 'tenant-b-key-fedcba9876543210';
const ADMIN = 'operator-key-00112233445566778899';

let stack: Stack;
let worker: WorkerHandle;
const engine = createTestEngine();
const captured = capturingLogger();
let a: TenantClient;
let b: TenantClient;
let admin: TenantClient;
/** A's finished task, finished batch and a direct upload PUT but not started. */
let taskA: string;
let batchA: string;
let uploadA: string;

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await sleep(50);
  }
}

beforeAll(async () => {
  stack = await startStack({
    apiEnv: { API_KEYS: `${KEY_A},${KEY_B}`, ADMIN_API_KEY: ADMIN, RATE_LIMIT_PER_MINUTE: '100000' },
    apiLogger: captured.logger,
  });
  a = tenantClient(stack.apiUrl, KEY_A);
  b = tenantClient(stack.apiUrl, KEY_B);
  admin = tenantClient(stack.apiUrl, ADMIN);
  worker = await stack.startWorker({ engine });

  const photo = await testPhoto(24, 24);
  const one = await a.enhance(photo);
  expect(one.status).toBe(200);
  taskA = one.body.task_id;
  const many = await a.batch([photo, photo]);
  expect(many.status).toBe(200);
  batchA = many.body.batch_id;
  await until(
    () => a.request('GET', `/api/v1/status/${taskA}`),
    (r) => r.body.status === 'completed',
  );
  await until(
    () => a.request('GET', `/api/v1/batch/status/${batchA}`),
    (r) => r.body.status === 'completed',
  );

  const issued = await a.request('POST', '/api/v1/uploads', {
    json: { filename: 'big.png', content_type: 'image/png', size: photo.length },
  });
  expect(issued.status).toBe(201);
  uploadA = issued.body.task_id;
  const { 'content-length': _length, ...headers } = issued.body.upload.headers as Record<string, string>;
  const put = await fetch(issued.body.upload.url, { method: 'PUT', body: new Uint8Array(photo), headers });
  expect(put.status).toBe(200);
});

afterAll(async () => {
  await stack?.stop();
  await engine.close();
});

/** The answer with every id replaced, so A's id and an unknown id can be compared as they reach the client. */
function shape(answer: Answer, ids: string[]): unknown {
  let text = JSON.stringify(answer.body);
  for (const id of ids) text = text.replaceAll(id, '<id>');
  return { status: answer.status, body: JSON.parse(text), type: answer.headers.get('content-type') };
}

type Probe = { name: string; call: (client: TenantClient, id: string) => Promise<Answer> };

const TASK_ROUTES: Probe[] = [
  { name: 'GET status', call: (c, id) => c.request('GET', `/api/v1/status/${id}`) },
  { name: 'GET task', call: (c, id) => c.request('GET', `/api/v1/tasks/${id}`) },
  { name: 'GET download', call: (c, id) => c.request('GET', `/api/v1/download/${id}`) },
  {
    name: 'GET download link',
    call: (c, id) => c.request('GET', `/api/v1/download/${id}`, { query: '?redirect=false' }),
  },
  { name: 'GET events', call: (c, id) => c.request('GET', `/api/v1/tasks/${id}/events`) },
  { name: 'DELETE task', call: (c, id) => c.request('DELETE', `/api/v1/tasks/${id}`) },
  { name: 'POST batches (group)', call: (c, id) => c.request('POST', '/api/v1/batches', { json: { task_ids: [id] } }) },
];
const BATCH_ROUTES: Probe[] = [
  { name: 'GET batch status', call: (c, id) => c.request('GET', `/api/v1/batch/status/${id}`) },
  { name: 'GET batch events', call: (c, id) => c.request('GET', `/api/v1/batch/events/${id}`) },
  { name: 'GET batch ZIP', call: (c, id) => c.request('GET', `/api/v1/batch/download/${id}`) },
];
const UPLOAD_ROUTES: Probe[] = [
  { name: 'POST start', call: (c, id) => c.request('POST', `/api/v1/tasks/${id}/start`, { json: {} }) },
];

describe('security: two tenants', () => {
  it("answers another tenant's ids on every route exactly like unknown ids (404, same body)", async () => {
    const groups: [Probe[], string][] = [
      [TASK_ROUTES, taskA],
      [BATCH_ROUTES, batchA],
      [UPLOAD_ROUTES, uploadA],
    ];
    for (const [probes, id] of groups) {
      for (const probe of probes) {
        const unknownId = newId();
        const theirs = await probe.call(b, id);
        const unknown = await probe.call(b, unknownId);
        expect(theirs.status, probe.name).toBe(404);
        expect(shape(theirs, [id]), probe.name).toEqual(shape(unknown, [unknownId]));
      }
    }
  });

  it("leaves A's task, batch and upload untouched, and A still reaches all of them", async () => {
    const status = await a.request('GET', `/api/v1/status/${taskA}`);
    expect(status.status).toBe(200);
    expect(status.body.status).toBe('completed');
    const download = await a.request('GET', `/api/v1/download/${taskA}`, { query: '?redirect=false' });
    expect(download.status).toBe(200);
    const zip = await a.request('GET', `/api/v1/batch/download/${batchA}`);
    expect(zip.status).toBe(200);
    expect(zip.headers.get('content-type')).toBe('application/zip');
    const group = await a.request('POST', '/api/v1/batches', { json: { task_ids: [taskA] } });
    expect(group.status).toBe(201);
    const started = await a.request('POST', `/api/v1/tasks/${uploadA}/start`, { json: FAST_FORM });
    expect(started.status).toBe(202);
    await until(
      () => a.request('GET', `/api/v1/status/${uploadA}`),
      (r) => r.body.status === 'completed',
    );
  });

  it('lets the operator key see every tenant, and only it reach the worker listing', async () => {
    expect((await admin.request('GET', `/api/v1/status/${taskA}`)).status).toBe(200);
    expect((await admin.request('GET', `/api/v1/batch/status/${batchA}`)).status).toBe(200);
    // (/metrics, operator-only with keys too, is checked in services/api/tests/auth: this stack runs no metrics.)
    expect((await a.request('GET', '/api/v1/workers')).status).toBe(401);
    expect((await admin.request('GET', '/api/v1/workers')).status).toBe(200);
  });

  it('stores an owner id on every record, never the key or its plain digest', async () => {
    const storage = stack.backend.storage;
    const task = await storage.readJson(`tasks/${taskA}.json`, (v) => v as { owner?: string });
    const batch = await storage.readJson(`batches/${batchA}.json`, (v) => v as { owner?: string });
    expect(task?.owner).toMatch(/^key_[0-9a-f]{24}$/);
    expect(batch?.owner).toBe(task?.owner);
    const digest = createHash('sha256').update(KEY_A).digest('hex');
    expect(digest).not.toContain((task?.owner ?? '').slice(4));
    const mine = await b.enhance(await testPhoto(16, 16));
    const other = await storage.readJson(`tasks/${mine.body.task_id}.json`, (v) => v as { owner?: string });
    expect(other?.owner).toMatch(/^key_/);
    expect(other?.owner).not.toBe(task?.owner);
  });

  it('takes ?api_key= on event streams and writes no key into any log line', async () => {
    const res = await fetch(`${stack.apiUrl}/api/v1/tasks/${taskA}/events?api_key=${KEY_A}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('event: completed');
    const wrong = await fetch(`${stack.apiUrl}/api/v1/tasks/${taskA}/events?api_key=${KEY_B}`);
    expect(wrong.status).toBe(404);
    await wrong.body?.cancel();
    expect(captured.lines.length).toBeGreaterThan(10);
    const secrets = [KEY_A, KEY_B, ADMIN].flatMap((k) => [k, createHash('sha256').update(k).digest('hex')]);
    for (const line of captured.lines) {
      for (const secret of secrets) expect(line).not.toContain(secret);
    }
  });

  it("keeps task ids out of the worker's health view (counts only)", async () => {
    const slow = await a.enhance(await testPhoto(128, 128), { ...FAST_FORM, tile_size: '16', scale: '1' });
    const taskId = slow.body.task_id as string;
    const seen = await until(
      async () => ({
        view: worker.worker.describe(),
        status: (await a.request('GET', `/api/v1/status/${taskId}`)).body,
      }),
      (s) => s.view.running === 1 || s.status.status === 'completed',
    );
    expect(JSON.stringify(seen.view)).not.toContain(taskId);
    expect(JSON.stringify(seen.view)).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-4/);
  });
});
