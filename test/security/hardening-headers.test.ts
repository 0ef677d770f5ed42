/**
 * Issue 17 §4/§5: browser headers on every answer (pages, assets, JSON, errors), no inline script anywhere,
 * error bodies without storage keys or SDK error names, and no key, secret or presigned URL in any log line of
 * a run against the real API server with its embedded backend.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, loadApiConfig, type RunningApi, startApiServer } from '@photoenhance/api';
import { newId, publicErrorMessage, taskErrorView } from '@photoenhance/contracts';
import {
  CommonEnvSchema,
  connectBackend,
  createServiceLogger,
  embeddedEnv,
  loadConfig,
  startEmbeddedBackend,
} from '@photoenhance/core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KEY = `client-${'a1b2c3d4'.repeat(3)}`;
const ADMIN = `admin-${'f9e8d7c6'.repeat(3)}`;
const lines: string[] = [];
let dataDir: string;
let api: RunningApi;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pe-hardening-headers-'));
  const config = loadApiConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    EMBEDDED_BACKEND: 'true',
    API_KEYS: KEY,
    ADMIN_API_KEY: ADMIN,
    LOG_LEVEL: 'debug',
  });
  const logger = createServiceLogger('api', 'debug', {}, { write: (line: string) => void lines.push(line) });
  api = await startApiServer(config, logger);
});
afterAll(async () => {
  await api?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const auth = { Authorization: `Bearer ${KEY}` };

function expectBrowserHeaders(res: Response, what: string): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  const scriptSrc = /(?:^|;\s*)script-src ([^;]*)/.exec(csp)?.[1] ?? '';
  expect(scriptSrc, `${what}: script-src`).toBe("'self'");
  expect(csp, what).not.toMatch(/unsafe-eval/);
  expect(csp, what).toMatch(/frame-ancestors 'none'/);
  expect(csp, what).toMatch(/object-src 'none'/);
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(res.headers.get('x-frame-options'), what).toBe('DENY');
  expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
}

describe('browser headers', () => {
  const html = { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
  const cases: [string, RequestInit][] = [
    ['/', { headers: html }],
    ['/docs', { headers: html }],
    ['/docs/swagger-init.js', {}],
    ['/docs/swagger-ui.css', {}],
    ['/', {}],
    ['/health', {}],
    ['/openapi.json', {}],
    [`/api/v1/status/${newId()}`, { headers: auth }],
    [`/api/v1/status/${newId()}`, {}],
    ['/no-such-route', {}],
  ];
  for (const [path, init] of cases) {
    it(`are on ${path}${init.headers ? ` (${Object.keys(init.headers).join(', ')})` : ''}`, async () => {
      const res = await fetch(`${api.url}${path}`, init);
      await res.arrayBuffer();
      expectBrowserHeaders(res, path);
      expect(res.headers.get('strict-transport-security'), 'no HSTS over plain HTTP').toBeNull();
    });
  }

  it('pages carry no inline script or inline event handler', async () => {
    for (const path of ['/', '/docs']) {
      const text = await (await fetch(`${api.url}${path}`, { headers: html })).text();
      for (const tag of text.match(/<script\b[^>]*>/g) ?? []) expect(tag, path).toMatch(/\ssrc="/);
      expect(text.match(/<script\b[^>]*>([^<]+)<\/script>/), path).toBeNull();
      expect(text, path).not.toMatch(/\son[a-z]+\s*=/i);
    }
  });

  it('allows inline style only on /docs (Swagger UI), never inline script', async () => {
    const docs = (await fetch(`${api.url}/docs`)).headers.get('content-security-policy') ?? '';
    const page = (await fetch(`${api.url}/`, { headers: html })).headers.get('content-security-policy') ?? '';
    expect(docs).toMatch(/style-src 'self' 'unsafe-inline'/);
    expect(page).toMatch(/style-src 'self'\s*(;|$)/);
  });

  it('sends HSTS when the request came over HTTPS (behind a TLS proxy)', async () => {
    const res = await fetch(`${api.url}/health`, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d{7,}/);
  });

  it("lets the page reach its storage (presigned PUTs) in connect-src, and nothing else's", async () => {
    const csp = (await fetch(`${api.url}/`, { headers: html })).headers.get('content-security-policy') ?? '';
    const connect = /connect-src ([^;]*)/.exec(csp)?.[1] ?? '';
    expect(connect).toMatch(/^'self' http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('error bodies', () => {
  it('say nothing of storage keys or SDK error names when storage fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pe-hardening-errors-'));
    const embedded = await startEmbeddedBackend({ dataDir: dir, port: 0 });
    const env = { ...embeddedEnv(embedded), LOG_LEVEL: 'silent', BACKEND_TIMEOUT_MS: '300' };
    const backend = await connectBackend(loadConfig(CommonEnvSchema, env), {
      s3: { maxAttempts: 1, connectionTimeoutMs: 300, idleTimeoutMs: 300 },
      sqs: { maxAttempts: 1, connectionTimeoutMs: 300, idleTimeoutMs: 300 },
    });
    const app = createApp({
      storage: backend.storage,
      queue: backend.queue,
      config: loadApiConfig(env),
      logger: pino({ level: 'silent' }),
    });
    await embedded.stop();
    try {
      const id = newId();
      const res = await app.request(`/api/v1/status/${id}`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('STORAGE_ERROR');
      expect(body.error.message).not.toMatch(/tasks\/|inputs\/|\.json/);
      expect(body.error.message).not.toMatch(/[A-Z][a-z]+(Error|Exception)|ECONN|TimeoutError|NoSuch/);
    } finally {
      backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('task errors as clients see them (status, batch, webhooks)', () => {
  it('carry no storage key, and storage or queue failures no SDK detail', () => {
    const id = newId();
    expect(taskErrorView({ code: 'NOT_FOUND', message: `Object not found: inputs/${id}/face.jpg` }).message).toBe(
      'Object not found: (stored object)',
    );
    const storage = taskErrorView({
      code: 'STORAGE_ERROR',
      message: `Storage get failed tasks/${id}.json: NoSuchBucket`,
    });
    expect(storage.message).not.toMatch(/tasks\/|NoSuch/);
    expect(publicErrorMessage('QUEUE_ERROR', 'Queue send failed: AWS.SimpleQueueService.NonExistentQueue')).not.toMatch(
      /AWS\.|NonExistent/,
    );
    // Ordinary messages pass unchanged.
    expect(publicErrorMessage('INVALID_OPTIONS', 'scale: must be at most 16')).toBe('scale: must be at most 16');
  });
});

describe('logs', () => {
  it('hold no API key, admin key, backend secret or presigned signature after a session of requests', async () => {
    const base = api.url;
    const created = await fetch(`${base}/api/v1/uploads`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ filename: 'face.jpg', content_type: 'image/jpeg', size: 4 }),
    });
    expect(created.status).toBe(201);
    const upload = (await created.json()) as { task_id: string; upload: { url: string } };
    expect(upload.upload.url).toContain('X-Amz-Signature=');
    // A tampered PUT, an unsigned read: the embedded backend refuses and logs that it did.
    expect(
      (await fetch(upload.upload.url.replace('face.jpg', 'other.jpg'), { method: 'PUT', body: 'abcd' })).status,
    ).toBe(403);
    expect((await fetch(new URL(upload.upload.url).origin + new URL(upload.upload.url).pathname)).status).toBe(403);
    await fetch(`${base}/api/v1/status/${upload.task_id}`, { headers: { 'X-API-Key': KEY } });
    await fetch(`${base}/api/v1/tasks/${upload.task_id}/events?api_key=${KEY}`).then((r) => r.body?.cancel());
    await fetch(`${base}/api/v1/status/${upload.task_id}`, {
      headers: { Authorization: 'Bearer wrong-key-0000000000000' },
    });
    await fetch(`${base}/api/v1/workers`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    const log = lines.join('');
    expect(log).toContain('request');
    expect(log).toContain('embedded backend refused a request');
    const { readFile } = await import('node:fs/promises');
    const secret = JSON.parse(await readFile(join(dataDir, 'embedded', 'credentials.json'), 'utf8')) as {
      secretAccessKey: string;
    };
    for (const forbidden of [KEY, ADMIN, secret.secretAccessKey, 'X-Amz-Signature', 'X-Amz-Credential', 'wrong-key-']) {
      expect(log.includes(forbidden), `log contains ${forbidden.slice(0, 12)}…`).toBe(false);
    }
  });
});
