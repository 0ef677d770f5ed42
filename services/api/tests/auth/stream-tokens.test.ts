import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamTokens, streamScopeOf, streamTokenSecret } from '../../src/auth/stream-tokens.ts';
import { ownerIdForKey } from '../../src/auth/tenants.ts';
import { pngFixture, readJson, startTestApi, type TestApi, uploadForm } from '../harness.ts';

const A = 'stream-tenant-a-key-0123456789';
const B = 'stream-tenant-b-key-9876543210';
const ADMIN = 'stream-operator-key-00112233445566';
const TASK = '6f1c1d8e-8a4b-4c2e-9f3a-1b2c3d4e5f60';
const OTHER = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** A clock the tests move by hand. */
function clock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('stream tokens', () => {
  const time = clock();
  const tokens = createStreamTokens({ secret: Buffer.alloc(32, 7), ttlSeconds: 600, now: time.now });
  const owner = ownerIdForKey(A);

  it('open the scope they were issued for, as their owner, until they expire', () => {
    const { token, expiresAt } = tokens.issue({ kind: 'task', id: TASK }, owner);
    expect(expiresAt.getTime()).toBe(time.now() + 600_000);
    expect(tokens.verify(token, { kind: 'task', id: TASK })).toBe(owner);
    expect(token).not.toContain(TASK);
    const anonymous = tokens.issue({ kind: 'batch', id: TASK }, undefined).token;
    expect(tokens.verify(anonymous, { kind: 'batch', id: TASK })).toBeUndefined();
  });

  it('refuse another id, another kind, tampered fields and garbage (401 stream_token_invalid)', () => {
    const { token } = tokens.issue({ kind: 'task', id: TASK }, owner);
    const [v, , expiry, signature] = token.split('.');
    const flipped = `${signature?.slice(0, -1)}${signature?.endsWith('A') ? 'B' : 'A'}`;
    const cases = [
      [token, { kind: 'task', id: OTHER }],
      [token, { kind: 'batch', id: TASK }],
      [`${v}.${ownerIdForKey(B)}.${expiry}.${signature}`, { kind: 'task', id: TASK }],
      [`${v}.${owner}.${Number(expiry) + 3600}.${signature}`, { kind: 'task', id: TASK }],
      [`${v}.${owner}.${expiry}.${flipped}`, { kind: 'task', id: TASK }],
      [`v2.${owner}.${expiry}.${signature}`, { kind: 'task', id: TASK }],
      ['', { kind: 'task', id: TASK }],
      [A, { kind: 'task', id: TASK }],
    ] as const;
    for (const [presented, scope] of cases) {
      expect(() => tokens.verify(presented, scope), presented).toThrow(
        expect.objectContaining({ code: 'UNAUTHORIZED', details: { reason: 'stream_token_invalid' } }),
      );
    }
  });

  it('refuse an expired token (401 stream_token_expired)', () => {
    const { token } = tokens.issue({ kind: 'task', id: TASK }, owner);
    time.advance(599_000);
    expect(tokens.verify(token, { kind: 'task', id: TASK })).toBe(owner);
    time.advance(1000);
    expect(() => tokens.verify(token, { kind: 'task', id: TASK })).toThrow(
      expect.objectContaining({ code: 'UNAUTHORIZED', details: { reason: 'stream_token_expired' } }),
    );
  });

  it('are signed with STREAM_TOKEN_SECRET, else a secret derived from the whole key set', () => {
    const keys = { API_KEYS: [A, B], ADMIN_API_KEY: ADMIN };
    expect(streamTokenSecret({ ...keys, STREAM_TOKEN_SECRET: 'x'.repeat(32) })).toEqual(Buffer.from('x'.repeat(32)));
    expect(streamTokenSecret(keys)).toEqual(streamTokenSecret({ API_KEYS: [B, A], ADMIN_API_KEY: ADMIN }));
    expect(streamTokenSecret(keys)).not.toEqual(streamTokenSecret({ API_KEYS: [A, B] }));
    expect(streamTokenSecret({ API_KEYS: [] })).not.toEqual(streamTokenSecret({ API_KEYS: [] }));
  });

  it('name only the event-stream paths', () => {
    expect(streamScopeOf(`/api/v1/tasks/${TASK}/events`)).toEqual({ kind: 'task', id: TASK });
    expect(streamScopeOf(`/api/v1/batch/events/${TASK.toUpperCase()}`)).toEqual({ kind: 'batch', id: TASK });
    for (const path of [`/api/v1/status/${TASK}`, `/api/v1/tasks/${TASK}`, '/api/v1/tasks/nope/events']) {
      expect(streamScopeOf(path), path).toBeUndefined();
    }
  });
});

describe('stream tokens on the API (keys on)', () => {
  const time = clock(Date.now());
  let api: TestApi;
  let taskA: string;
  let secondA: string;
  let taskB: string;
  let batchA: string;
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  beforeAll(async () => {
    api = await startTestApi(
      { API_KEYS: `${A},${B}`, ADMIN_API_KEY: ADMIN },
      { streamTokens: createStreamTokens({ secret: Buffer.alloc(32, 9), ttlSeconds: 600, now: time.now }) },
    );
    const submit = async (key: string) => {
      const res = await api.app.request('/api/v1/enhance', {
        method: 'POST',
        headers: as(key),
        body: uploadForm(await pngFixture(), 'face.png'),
      });
      expect(res.status).toBe(200);
      return (await readJson(res)).task_id as string;
    };
    taskA = await submit(A);
    secondA = await submit(A);
    taskB = await submit(B);
    const grouped = await api.app.request('/api/v1/batches', {
      method: 'POST',
      headers: { ...as(A), 'content-type': 'application/json' },
      body: JSON.stringify({ task_ids: [taskA, secondA] }),
    });
    expect(grouped.status).toBe(201);
    batchA = (await readJson(grouped)).batch_id;
  });
  afterAll(async () => {
    await api?.dispose();
  });

  const tokenFor = async (path: string, key: string) => {
    const res = await api.app.request(path, { method: 'POST', headers: as(key) });
    return { status: res.status, body: await readJson(res) };
  };
  /** Opens a stream and closes it at once: the status and the error code, if any. */
  const open = async (url: string) => {
    const res = await api.app.request(url);
    const type = res.headers.get('content-type') ?? '';
    const code = type.includes('json') ? (await readJson(res)).error : undefined;
    if (!type.includes('json')) await res.body?.cancel();
    return { status: res.status, type, code: code?.code, reason: code?.details?.reason };
  };

  it('gives the owner a token whose events_url opens the stream without a key', async () => {
    const { status, body } = await tokenFor(`/api/v1/tasks/${taskA}/stream-token`, A);
    expect(status).toBe(200);
    expect(body.events_url).toBe(`/api/v1/tasks/${taskA}/events?token=${encodeURIComponent(body.token)}`);
    expect(Date.parse(body.expires_at)).toBe(Math.floor(time.now() / 1000) * 1000 + 600_000);
    expect(body.token).not.toContain(A);
    const stream = await open(body.events_url);
    expect(stream).toMatchObject({ status: 200, type: expect.stringContaining('text/event-stream') });
    const batch = await tokenFor(`/api/v1/batch/stream-token/${batchA}`, A);
    expect(batch.status).toBe(200);
    expect((await open(batch.body.events_url)).status).toBe(200);
  });

  it('refuses a token on another id, another tenant, a tampered one and a wrong kind (401), never opening anything', async () => {
    const { body } = await tokenFor(`/api/v1/tasks/${taskA}/stream-token`, A);
    const token = encodeURIComponent(body.token);
    const mine = await tokenFor(`/api/v1/tasks/${taskB}/stream-token`, B);
    const tampered = body.token.replace(/\.[^.]+\.(\d+)\./, `.${ownerIdForKey(B)}.$1.`);
    for (const url of [
      `/api/v1/tasks/${secondA}/events?token=${token}`,
      `/api/v1/tasks/${taskB}/events?token=${token}`,
      `/api/v1/tasks/${taskA}/events?token=${encodeURIComponent(mine.body.token)}`,
      `/api/v1/tasks/${taskB}/events?token=${encodeURIComponent(tampered)}`,
      `/api/v1/batch/events/${taskA}?token=${token}`,
      `/api/v1/tasks/${taskA}/events?token=garbage`,
    ]) {
      expect(await open(url), url).toMatchObject({ status: 401, code: 'UNAUTHORIZED', reason: 'stream_token_invalid' });
    }
    // A token is no key anywhere else.
    expect((await api.app.request(`/api/v1/status/${taskA}?token=${token}`)).status).toBe(401);
  });

  it("will not give a token for another tenant's task or batch (404 like an unknown id); the operator's opens it", async () => {
    expect((await tokenFor(`/api/v1/tasks/${taskA}/stream-token`, B)).status).toBe(404);
    expect((await tokenFor(`/api/v1/batch/stream-token/${batchA}`, B)).status).toBe(404);
    expect((await tokenFor(`/api/v1/tasks/${OTHER}/stream-token`, B)).status).toBe(404);
    const operator = await tokenFor(`/api/v1/tasks/${taskA}/stream-token`, ADMIN);
    expect(operator.status).toBe(200);
    expect((await open(operator.body.events_url)).status).toBe(200);
  });

  it('refuses an expired token (401 stream_token_expired); a new one works', async () => {
    const { body } = await tokenFor(`/api/v1/tasks/${taskA}/stream-token`, A);
    time.advance(601_000);
    expect(await open(body.events_url)).toMatchObject({ status: 401, reason: 'stream_token_expired' });
    const fresh = await tokenFor(`/api/v1/tasks/${taskA}/stream-token`, A);
    expect((await open(fresh.body.events_url)).status).toBe(200);
  });

  it('still takes the legacy ?api_key= on event streams', async () => {
    expect((await open(`/api/v1/tasks/${taskA}/events?api_key=${A}`)).status).toBe(200);
  });
});
