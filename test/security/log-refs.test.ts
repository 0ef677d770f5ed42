/**
 * "No key or task id in any log line of the run" (issue 17 §5): the API and a worker as separate OS processes
 * (`start:api`, `start:worker`) on the stack's backend (embedded in `npm test`), two tenants, a real flow —
 * submit, status, events (header, stream token and `?api_key=`), download, cancel, delete, a batch with its
 * events and ZIP, a direct upload, a failed task, another tenant's probes — with every line of both processes
 * kept. No task,
 * batch or upload id, API or admin key, key digest, presigned signature or id-bearing storage key may appear in
 * any line, and the refs that stand in for the ids must (so the test fails if the lines say nothing).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { logRef } from '@photoenhance/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProc, type Proc, startApi, startWorker } from '../chaos/procs.ts';
import { FAST_FORM } from '../harness/engine.ts';
import { pngWithCorruptPixels, testPhoto } from '../harness/images.ts';
import { readSse } from '../harness/sse.ts';
import { type Stack, startStack } from '../harness/stack.ts';
import { type Answer, type TenantClient, tenantClient } from './tenant-client.ts';

const KEY_A = 'logs-tenant-a-key-0123456789abcdef';
const KEY_B = 'logs-tenant-b-key-fedcba9876543210';
const ADMIN = 'logs-operator-key-00112233445566778899';
const LOG_REF_SECRET = 'log-ref-secret-for-the-security-suite';

let stack: Stack;
let api: ApiProc;
let worker: Proc;
let a: TenantClient;
let b: TenantClient;

async function until(read: () => Promise<Answer>, done: (value: Answer) => boolean, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value.body)}`);
    await sleep(100);
  }
}

const ended = (r: Answer) => ['completed', 'failed', 'cancelled'].includes(r.body.status);

beforeAll(async () => {
  stack = await startStack({ api: false });
  const c = stack.config;
  const env: Record<string, string> = {
    S3_ENDPOINT: c.S3_ENDPOINT ?? '',
    SQS_ENDPOINT: c.SQS_ENDPOINT ?? '',
    S3_BUCKET: c.S3_BUCKET,
    ...(c.AWS_ACCESS_KEY_ID ? { AWS_ACCESS_KEY_ID: c.AWS_ACCESS_KEY_ID } : {}),
    ...(c.AWS_SECRET_ACCESS_KEY ? { AWS_SECRET_ACCESS_KEY: c.AWS_SECRET_ACCESS_KEY } : {}),
    SQS_QUEUE_NAME: c.SQS_QUEUE_NAME,
    SQS_DLQ_NAME: c.SQS_DLQ_NAME,
    LOG_LEVEL: 'debug',
    LOG_REF_SECRET,
  };
  api = await startApi({
    ...env,
    EMBEDDED_BACKEND: 'false',
    API_KEYS: `${KEY_A},${KEY_B}`,
    ADMIN_API_KEY: ADMIN,
    RATE_LIMIT_PER_MINUTE: '0',
    SSE_POLL_MS: '100',
  });
  worker = await startWorker({ ...env, WORKER_ID: 'log-refs-worker', WORKER_HEARTBEAT_MS: '500' });
  a = tenantClient(api.url, KEY_A);
  b = tenantClient(api.url, KEY_B);
}, 180_000);

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await api?.kill('SIGTERM');
  await stack?.stop();
});

describe('security: log lines', () => {
  it('carry refs, never a task/batch/upload id, key, key digest, signed URL or id-bearing storage key', async () => {
    const photo = await testPhoto(24, 24);
    const ids: string[] = [];
    const signed: string[] = [];

    // Submit, status, events (header and ?api_key=), download link and bytes.
    const done = await a.enhance(photo);
    expect(done.status).toBe(200);
    const taskId = done.body.task_id as string;
    ids.push(taskId);
    const final = await until(() => a.request('GET', `/api/v1/status/${taskId}`), ended);
    expect(final.body.status).toBe('completed');
    const stream = await fetch(`${api.url}/api/v1/tasks/${taskId}/events?api_key=${KEY_A}`);
    expect(stream.status).toBe(200);
    expect((await readSse(stream, { until: (e) => e.event === 'completed' })).events.at(-1)?.event).toBe('completed');
    const minted = await a.request('POST', `/api/v1/tasks/${taskId}/stream-token`);
    expect(minted.status).toBe(200);
    const streamToken = minted.body.token as string;
    const byToken = await fetch(`${api.url}${minted.body.events_url}`);
    expect(byToken.status).toBe(200);
    await readSse(byToken, { until: (e) => e.event === 'completed' });
    const link = await a.request('GET', `/api/v1/download/${taskId}`, { query: '?redirect=false' });
    expect(link.status).toBe(200);
    const url = String(link.body.url);
    signed.push(new URL(url).searchParams.get('X-Amz-Signature') ?? '');
    expect((await a.request('GET', `/api/v1/download/${taskId}`)).status).toBeLessThan(400);

    // Another tenant's probes (404s) and a wrong key in the query.
    expect((await b.request('GET', `/api/v1/status/${taskId}`)).status).toBe(404);
    const foreign = await fetch(`${api.url}/api/v1/tasks/${taskId}/events?api_key=${KEY_B}`);
    expect(foreign.status).toBe(404);
    await foreign.body?.cancel();

    // A batch: status, events, ZIP.
    const many = await a.batch([photo, photo]);
    expect(many.status).toBe(200);
    const batchId = many.body.batch_id as string;
    ids.push(batchId, ...(many.body.tasks as { task_id: string }[]).map((t) => t.task_id));
    await until(
      () => a.request('GET', `/api/v1/batch/status/${batchId}`),
      (r) => r.body.status === 'completed',
    );
    const batchEvents = await fetch(`${api.url}/api/v1/batch/events/${batchId}`, {
      headers: { authorization: `Bearer ${KEY_A}` },
    });
    expect(batchEvents.status).toBe(200);
    await readSse(batchEvents, { until: (e) => e.event === 'completed' || e.event === 'done', timeoutMs: 30_000 });
    const zip = await a.request('GET', `/api/v1/batch/download/${batchId}`);
    expect(zip.status).toBe(200);

    // A direct upload: presigned PUT, then start.
    const issued = await a.request('POST', '/api/v1/uploads', {
      // A file name that names a person: storage keys in the logs keep only its extension.
      json: { filename: 'jane-doe-passport.png', content_type: 'image/png', size: photo.length },
    });
    expect(issued.status).toBe(201);
    const uploadId = issued.body.task_id as string;
    ids.push(uploadId);
    signed.push(new URL(issued.body.upload.url).searchParams.get('X-Amz-Signature') ?? '');
    const { 'content-length': _length, ...headers } = issued.body.upload.headers as Record<string, string>;
    expect((await fetch(issued.body.upload.url, { method: 'PUT', body: new Uint8Array(photo), headers })).status).toBe(
      200,
    );
    expect((await a.request('POST', `/api/v1/tasks/${uploadId}/start`, { json: FAST_FORM })).status).toBe(202);
    await until(() => a.request('GET', `/api/v1/status/${uploadId}`), ended);

    // A failed task (undecodable pixels), then a cancelled one and a delete.
    const broken = await a.enhance(await pngWithCorruptPixels(32, 32));
    expect(broken.status).toBe(200);
    const brokenId = broken.body.task_id as string;
    ids.push(brokenId);
    expect((await until(() => a.request('GET', `/api/v1/status/${brokenId}`), ended)).body.status).toBe('failed');
    const slow = await b.enhance(await testPhoto(128, 128), { ...FAST_FORM, tile_size: '16', scale: '1' });
    const slowId = slow.body.task_id as string;
    ids.push(slowId);
    expect((await b.request('DELETE', `/api/v1/tasks/${slowId}`)).status).toBeLessThan(300);
    expect((await a.request('DELETE', `/api/v1/tasks/${taskId}`)).status).toBeLessThan(300);
    // Let the worker see the cancel and both processes log what follows.
    await sleep(1500);

    const lines = [...api.lines, ...worker.lines].map((line) => JSON.stringify(line));
    expect(lines.length).toBeGreaterThan(30);
    const digest = (k: string) => createHash('sha256').update(k).digest('hex');
    const forbidden = [
      ...ids,
      ...[KEY_A, KEY_B, ADMIN].flatMap((k) => [k, digest(k)]),
      ...signed.filter((s) => s.length > 0),
      streamToken,
      streamToken.split('.').at(-1) ?? streamToken,
      'jane-doe-passport',
      // Storage keys carrying an id, in any spelling.
      `inputs/${taskId}`,
      `outputs/${taskId}`,
      `tasks/${taskId}`,
      `batches/${batchId}`,
    ];
    expect(signed.filter((s) => s.length > 0)).toHaveLength(2);
    for (const line of lines) {
      const lower = line.toLowerCase();
      for (const secret of forbidden) expect(lower, line).not.toContain(secret.toLowerCase());
      // No UUID at all: a future field or message with an id in it would fail here.
      expect(line).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
    }

    // The refs are there, in the API's lines and the worker's alike, so one task can be followed across both.
    const ref = logRef(taskId, LOG_REF_SECRET);
    const apiText = api.lines.map((l) => JSON.stringify(l)).join('\n');
    const workerText = worker.lines.map((l) => JSON.stringify(l)).join('\n');
    expect(apiText).toContain(ref);
    expect(workerText).toContain(ref);
    expect(api.lines.some((l) => l.msg === 'task queued' && l.task_ref === ref)).toBe(true);
    expect(apiText).toContain(logRef(batchId, LOG_REF_SECRET));
    expect(apiText).toContain(logRef(uploadId, LOG_REF_SECRET));
    expect(workerText).toContain(logRef(brokenId, LOG_REF_SECRET));
    // Request lines name the path with a ref and no query string.
    expect(apiText).toContain(`/api/v1/tasks/ref:${ref}/events`);
    expect(apiText).not.toContain('api_key');
    // The worker's completion line names the result by ref and extension only.
    expect(workerText).toContain(`outputs/ref:${logRef(uploadId, LOG_REF_SECRET)}/*.png`);
  }, 240_000);
});
