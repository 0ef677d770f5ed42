/**
 * Limits that keep one client from hurting the rest, against the real API: the per-key rate limit (429 with
 * Retry-After and RateLimit headers, other keys unaffected), the active-task quota (429 naming the limit, nothing
 * stored), and concurrent starts of one direct upload sending exactly one job. No worker runs here, so every task
 * stays queued and counts against the quota.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_FORM } from '../harness/engine.ts';
import { testPhoto } from '../harness/images.ts';
import { type Stack, startStack } from '../harness/stack.ts';
import { type TenantClient, tenantClient } from './tenant-client.ts';

const KEY_A = 'limits-a-key-0123456789abcdef';
const KEY_B = 'limits-b-key-fedcba9876543210';
const KEY_C = 'limits-c-key-00112233445566778';
const KEY_D = 'limits-d-key-99887766554433221';
const KEY_E = 'limits-e-key-aabbccddeeff00112';
const MAX_STREAMS = 2;
const RATE_LIMIT = 8;
const MAX_ACTIVE = 2;

let stack: Stack;
let a: TenantClient;
let b: TenantClient;
let c: TenantClient;
let photo: Buffer;

beforeAll(async () => {
  stack = await startStack({
    apiEnv: {
      API_KEYS: [KEY_A, KEY_B, KEY_C, KEY_D, KEY_E].join(','),
      MAX_EVENT_STREAMS_PER_KEY: String(MAX_STREAMS),
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      MAX_ACTIVE_TASKS_PER_KEY: String(MAX_ACTIVE),
    },
  });
  a = tenantClient(stack.apiUrl, KEY_A);
  b = tenantClient(stack.apiUrl, KEY_B);
  c = tenantClient(stack.apiUrl, KEY_C);
  photo = await testPhoto(16, 16);
});
afterAll(async () => {
  await stack?.stop();
});

async function inputsOf(taskIds: string[]): Promise<string[]> {
  return (await stack.backend.storage.list('inputs/'))
    .map((o) => o.key)
    .filter((k) => !taskIds.some((id) => k.includes(id)));
}

describe('security: limits', () => {
  it('answers 429 RATE_LIMITED with Retry-After and RateLimit headers past the per-key limit; other keys go on', async () => {
    const answers = [];
    for (let i = 0; i < RATE_LIMIT + 1; i++) answers.push(await a.request('GET', '/api/v1/models'));
    const ok = answers.slice(0, RATE_LIMIT);
    for (const [i, answer] of ok.entries()) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('ratelimit-limit')).toBe(String(RATE_LIMIT));
      expect(answer.headers.get('ratelimit-remaining')).toBe(String(RATE_LIMIT - 1 - i));
    }
    const refused = answers[RATE_LIMIT];
    expect(refused?.status).toBe(429);
    expect(refused?.body.error.code).toBe('RATE_LIMITED');
    expect(refused?.body.error.message).toContain('RATE_LIMIT_PER_MINUTE');
    const retryAfter = Number(refused?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused?.headers.get('ratelimit-policy')).toBe(`${RATE_LIMIT};w=60`);
    expect(refused?.headers.get('ratelimit-remaining')).toBe('0');
    // Another key has its own budget.
    expect((await b.request('GET', '/api/v1/models')).status).toBe(200);
  });

  it('refuses a task past MAX_ACTIVE_TASKS_PER_KEY with 429 QUOTA_EXCEEDED naming the limit, storing nothing', async () => {
    const created: string[] = [];
    for (let i = 0; i < MAX_ACTIVE; i++) {
      const res = await c.enhance(photo);
      expect(res.status).toBe(200);
      created.push(res.body.task_id);
    }
    const before = await inputsOf(created);
    const over = await c.enhance(photo);
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('QUOTA_EXCEEDED');
    expect(over.body.error.message).toContain('MAX_ACTIVE_TASKS_PER_KEY');
    expect(over.body.error.details).toMatchObject({ limit: 'MAX_ACTIVE_TASKS_PER_KEY', max: MAX_ACTIVE, active: 2 });
    const batch = await c.batch([photo]);
    expect(batch.status).toBe(429);
    expect(await inputsOf(created)).toEqual(before);

    // Cancelling one frees its slot at once.
    expect((await c.request('DELETE', `/api/v1/tasks/${created[0]}`)).status).toBe(200);
    expect((await c.enhance(photo)).status).toBe(200);
    expect((await c.enhance(photo)).status).toBe(429);
  });

  it('caps open event streams per key (429 naming MAX_EVENT_STREAMS_PER_KEY); a closed stream frees its slot', async () => {
    const d = tenantClient(stack.apiUrl, KEY_D);
    const e = tenantClient(stack.apiUrl, KEY_E);
    const taskD = (await d.enhance(photo)).body.task_id as string;
    const taskE = (await e.enhance(photo)).body.task_id as string;
    const open = (key: string, taskId: string, signal: AbortSignal) =>
      fetch(`${stack.apiUrl}/api/v1/tasks/${taskId}/events`, { headers: { authorization: `Bearer ${key}` }, signal });
    const controllers = Array.from({ length: MAX_STREAMS }, () => new AbortController());
    const streams = await Promise.all(controllers.map((ctl) => open(KEY_D, taskD, ctl.signal)));
    for (const stream of streams) expect(stream.status).toBe(200);
    const over = await d.request('GET', `/api/v1/tasks/${taskD}/events`);
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('QUOTA_EXCEEDED');
    expect(over.body.error.details.limit).toBe('MAX_EVENT_STREAMS_PER_KEY');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another key is not affected.
    const other = new AbortController();
    expect((await open(KEY_E, taskE, other.signal)).status).toBe(200);
    other.abort();

    controllers[0]?.abort();
    const deadline = Date.now() + 10_000;
    let status: number;
    for (;;) {
      const ctl = new AbortController();
      const again = await open(KEY_D, taskD, ctl.signal);
      status = again.status;
      if (status === 200) ctl.abort();
      else await again.text();
      if (status === 200 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
    controllers[1]?.abort();
  });

  it('sends one job for concurrent starts of one direct upload (the others: 409)', async () => {
    const issued = await b.request('POST', '/api/v1/uploads', {
      json: { filename: 'big.png', content_type: 'image/png', size: photo.length },
    });
    expect(issued.status).toBe(201);
    const { 'content-length': _length, ...headers } = issued.body.upload.headers as Record<string, string>;
    expect((await fetch(issued.body.upload.url, { method: 'PUT', body: new Uint8Array(photo), headers })).status).toBe(
      200,
    );
    const depthBefore = await stack.backend.queue.depth();
    const starts = await Promise.all(
      Array.from({ length: 5 }, () =>
        b.request('POST', `/api/v1/tasks/${issued.body.task_id}/start`, { json: FAST_FORM }),
      ),
    );
    expect(starts.map((s) => s.status).sort()).toEqual([202, 409, 409, 409, 409]);
    const depthAfter = await stack.backend.queue.depth();
    expect(depthAfter.visible + depthAfter.inFlight).toBe(depthBefore.visible + depthBefore.inFlight + 1);
  });
});
