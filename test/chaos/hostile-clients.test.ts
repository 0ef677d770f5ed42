/**
 * Issue 11 §5 and §7 against the API process on MinIO + ElasticMQ: a seeded fast-check fuzzer over every route
 * and form field (each generated request is wrong in at least one way), then slow and idle clients and
 * abandoned event streams. Every refusal is a 4xx JSON error without a stack trace or a file path, the process
 * never answers 5xx and stays up, /health answers within 100 ms afterwards, and nothing is stored.
 */
import { Socket } from 'node:net';
import { newId } from '@photoenhance/contracts';
import { signatureHeaders, keys as storageKeys } from '@photoenhance/core';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProc, connectScenario, figure, scenarioEnv, sleep, startApi } from './procs.ts';

const SEED = 11;
const RUNS = 2000;
const SECRET = 'chaos-registration-secret-0123';
const ADMIN = 'chaos-admin-key-0123456789';

const env = scenarioEnv('hostile', {
  WORKER_REGISTRATION_SECRET: SECRET,
  ADMIN_API_KEY: ADMIN,
  HEADERS_TIMEOUT_MS: '2000',
  REQUEST_TIMEOUT_MS: '4000',
  KEEP_ALIVE_TIMEOUT_MS: '1000',
  SSE_POLL_MS: '100',
});

let api: ApiProc;
let image: Buffer;
beforeAll(async () => {
  api = await startApi(env);
  image = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#468' } })
    .png()
    .toBuffer();
}, 120_000);
afterAll(async () => {
  await api?.kill('SIGTERM');
});

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array | FormData;
  /** What the request is wrong in (for the failure report). */
  why: string;
}

// --- generators: every request is wrong somewhere ----------------------------------------------------------

const junkText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '\u0000',
    '💥'.repeat(50),
    '<script>',
    "'; DROP TABLE",
    '%00',
    '\r\nX-Injected: 1',
    'x'.repeat(10_000),
  ),
);

const badId = fc.oneof(
  fc.constantFrom(
    '../etc/passwd',
    '..%2F..%2Fetc%2Fpasswd',
    '%2e%2e',
    '%2e%2e%2f',
    '....//',
    'x'.repeat(10_000),
    'NaN',
    '-1',
    '0x10',
    '00000000-0000-0000-0000-000000000000x',
  ),
  fc.string({ minLength: 1, maxLength: 60 }).map((s) => encodeURIComponent(s)),
);

/** Values each field refuses (never a valid one: an empty field counts as "not sent", so none is empty). */
const BAD_FIELD_VALUES: Record<string, fc.Arbitrary<string>> = {
  scale: fc.constantFrom('-1', '0', '17', 'NaN', '1e309', '0x10', '0o7', '1e1', 'Infinity', 'two', '16.5', '0.5'),
  tile_size: fc.constantFrom('-1', '4097', '1.5', 'NaN', '1e3', 'big'),
  quality_level: fc.constantFrom('ultra', 'LOWEST', '1', '🚀'),
  face: fc.constantFrom('maybe', '2', 'truee', 'null'),
  face_model: fc.constantFrom('x.onnx', '../../etc/passwd', '/etc/passwd', 'C:\\models\\x.onnx', '-bad', '.hidden'),
  only_center_face: fc.constantFrom('perhaps', '-1'),
  face_blend: fc.constantFrom('-0.1', '1.1', 'NaN', '1e309', '0x1'),
  output_format: fc.constantFrom('gif', 'bmp', 'exe', '../png'),
  output_quality: fc.constantFrom('0', '101', '50.5', '1e2', 'NaN'),
  keep_metadata: fc.constantFrom('sometimes'),
  callback_url: fc.constantFrom(
    'http://127.0.0.1/h',
    'http://localhost:8000/',
    'http://[::1]/',
    'http://[::127.0.0.1]/',
    'http://[::ffff:0:127.0.0.1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://metadata.google.internal/',
    'http://169.254.169.254.nip.io/',
    'http://10.0.0.1/',
    'http:///x',
    'file:///etc/passwd',
    'gopher://example.com/',
    'ftp://example.com/',
    'javascript:alert(1)',
    `https://example.com/${'a'.repeat(3000)}`,
    'http://user:pass@example.com/',
  ),
};
const FIELD_NAMES = Object.keys(BAD_FIELD_VALUES);

/** A multipart form with a valid image (or junk bytes) and at least one bad field. */
const badEnhanceForm = fc
  .record({
    route: fc.constantFrom('/api/v1/enhance', '/api/v1/enhance/batch'),
    bad: fc.uniqueArray(fc.constantFrom(...FIELD_NAMES), { minLength: 1, maxLength: 3 }),
    seeds: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
    junkFile: fc.boolean(),
  })
  .chain(({ route, bad, junkFile }) =>
    fc.tuple(...bad.map((name) => BAD_FIELD_VALUES[name] as fc.Arbitrary<string>)).map((values) => {
      const form = new FormData();
      const fileField = route.endsWith('batch') ? 'files' : 'file';
      const bytes = junkFile ? new TextEncoder().encode('not an image at all') : new Uint8Array(image);
      form.append(fileField, new File([bytes], 'p.png', { type: 'image/png' }));
      bad.forEach((name, i) => {
        form.append(name, values[i] as string);
      });
      return {
        method: 'POST',
        path: route,
        headers: {},
        body: form,
        why: `${route} ${bad.map((n, i) => `${n}=${JSON.stringify((values[i] ?? '').slice(0, 40))}`).join(' ')}`,
      } satisfies FuzzRequest;
    }),
  );

/** Junk files alone: not images, empty, truncated, a lying extension. */
const junkUpload = fc
  .record({
    bytes: fc.oneof(
      fc.uint8Array({ maxLength: 512 }),
      fc.constant(new Uint8Array(0)),
      fc.nat({ max: 60 }).map((n) => new Uint8Array(image.subarray(0, n + 8))),
    ),
    name: fc.oneof(fc.constantFrom('a.png', '../../x.jpg', '', 'a'.repeat(300)), junkText),
    type: fc.constantFrom('image/png', 'image/jpeg', 'application/x-sh', 'text/html'),
    field: fc.constantFrom('file', 'image', 'upload'),
  })
  .map(({ bytes, name, type, field }): FuzzRequest => {
    const form = new FormData();
    form.append(field, new File([bytes], name, { type }));
    return { method: 'POST', path: '/api/v1/enhance', headers: {}, body: form, why: `junk upload ${bytes.length} B` };
  });

/** Bodies that are not what the route reads: missing or wrong boundary, truncated multipart, JSON, nothing. */
const malformedBody = fc
  .record({
    path: fc.constantFrom(
      '/api/v1/enhance',
      '/api/v1/enhance/batch',
      '/api/v1/uploads',
      `/api/v1/tasks/${newId()}/start`,
    ),
    type: fc.constantFrom(
      'multipart/form-data',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary=zzz',
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      '',
    ),
    body: fc.oneof(
      junkText,
      fc.constantFrom('--zzz\r\nContent-Disposition: form-data; name="file"\r\n\r\n', '{', '{"size":', 'null', '[]'),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    ),
  })
  .map(
    ({ path, type, body }): FuzzRequest => ({
      method: 'POST',
      path,
      headers: type ? { 'content-type': type } : {},
      body,
      why: `${path} as ${type || '(no type)'}`,
    }),
  );

/** Every id-taking route with an id that is not one (and a valid but unknown one: 404). */
const badIdRoute = fc
  .record({
    id: fc.oneof(badId, fc.constant(newId())),
    route: fc.constantFrom(
      ['GET', '/api/v1/status/:id'],
      ['GET', '/api/v1/download/:id'],
      ['GET', '/api/v1/download/:id?redirect=false'],
      ['DELETE', '/api/v1/tasks/:id'],
      ['GET', '/api/v1/tasks/:id/events'],
      ['POST', '/api/v1/tasks/:id/start'],
      ['GET', '/api/v1/batch/status/:id'],
      ['GET', '/api/v1/batch/download/:id'],
      ['GET', '/api/v1/batch/events/:id'],
    ),
  })
  .map(
    ({ id, route: [method, template] }): FuzzRequest => ({
      method: method as string,
      path: (template as string).replace(':id', id),
      headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
      ...(method === 'POST' ? { body: '{}' } : {}),
      why: `${method} ${template} id=${id.slice(0, 40)}`,
    }),
  );

/** Direct-upload requests that ask for the impossible. */
const badDirectUpload = fc
  .record({
    size: fc.oneof(
      fc.constantFrom(-1, 0, Number.POSITIVE_INFINITY, 2 ** 53, Number.NaN),
      fc.integer({ min: 300_000_000, max: 2_147_483_647 }),
    ),
    content_type: fc.oneof(fc.constantFrom('image/png', 'text/html', ''), junkText),
    filename: junkText,
  })
  .map(
    (body): FuzzRequest => ({
      method: 'POST',
      path: '/api/v1/uploads',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      why: `uploads ${JSON.stringify(body).slice(0, 80)}`,
    }),
  );

/** Worker announcements badly signed: wrong secret, stale or future timestamp, junk headers, no headers. */
const badWorkerCall = fc
  .record({
    route: fc.constantFrom('register', 'heartbeat', 'deregister'),
    body: fc.oneof(
      junkText,
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    ),
    how: fc.constantFrom('wrong-secret', 'stale', 'future', 'junk', 'none', 'wrong-body'),
    junk: junkText,
  })
  .map(({ route, body, how, junk }): FuzzRequest => {
    let headers: Record<string, string> = { 'content-type': 'application/json' };
    const now = Date.now();
    if (how === 'wrong-secret') headers = { ...headers, ...signatureHeaders('another-secret-0123456789', body) };
    if (how === 'stale') headers = { ...headers, ...signatureHeaders(SECRET, body, new Date(now - 3_600_000)) };
    if (how === 'future') headers = { ...headers, ...signatureHeaders(SECRET, body, new Date(now + 3_600_000)) };
    if (how === 'wrong-body') headers = { ...headers, ...signatureHeaders(SECRET, `${body} `) };
    if (how === 'junk') {
      headers['x-photoenhance-timestamp'] = String(Math.floor(now / 1000));
      headers['x-photoenhance-signature'] = `v1=${encodeURIComponent(junk).slice(0, 200)}`;
    }
    return { method: 'POST', path: `/api/v1/workers/${route}`, headers, body, why: `worker ${route} ${how}` };
  });

/** The admin list without the admin key; unknown routes; odd methods; a 20 kB header. */
const misc = fc.oneof(
  fc.constantFrom<FuzzRequest>(
    { method: 'GET', path: '/api/v1/workers', headers: {}, why: 'workers without key' },
    {
      method: 'GET',
      path: '/api/v1/workers',
      headers: { authorization: 'Bearer wrong-key-0123456789' },
      why: 'bad key',
    },
    { method: 'PUT', path: '/api/v1/enhance', headers: {}, why: 'PUT enhance' },
    { method: 'GET', path: '/api/v1/../../etc/passwd', headers: {}, why: 'dot segments' },
    { method: 'GET', path: '/api/v1/status/', headers: {}, why: 'empty id' },
  ),
  junkText.map(
    (t): FuzzRequest => ({
      method: 'GET',
      path: `/api/v2/${encodeURIComponent(t)}`,
      headers: {},
      why: 'unknown route',
    }),
  ),
  fc.nat({ max: 5 }).map(
    (n): FuzzRequest => ({
      method: 'GET',
      path: '/api/v1/status/x',
      headers: { 'x-big': 'a'.repeat(20_000 + n * 1000) },
      why: 'oversized header',
    }),
  ),
);

const anyBadRequest = fc.oneof(
  { arbitrary: badEnhanceForm, weight: 5 },
  { arbitrary: junkUpload, weight: 2 },
  { arbitrary: malformedBody, weight: 3 },
  { arbitrary: badIdRoute, weight: 4 },
  { arbitrary: badDirectUpload, weight: 1 },
  { arbitrary: badWorkerCall, weight: 2 },
  { arbitrary: misc, weight: 1 },
);

/** A stack trace line, or a path from this machine's file system, in a client answer. */
const LEAK = /\bat [\w.<>]+ \(|node:internal|\/work\/|\/home\/|\/root\/|\.ts:\d+|\.js:\d+/;

async function snapshot(backend: Awaited<ReturnType<typeof connectScenario>>) {
  // The store's conditional-write probe (written once by whichever process first asks) is not a client's data.
  const keys = (await backend.storage.list(''))
    .map((o) => o.key)
    .filter((key) => key !== storageKeys.conditionalWriteProbe)
    .sort();
  const depth = await backend.queue.depth();
  return { keys, queued: depth.visible + depth.inFlight };
}

describe('hostile clients', () => {
  it(`answers ${RUNS} seeded hostile requests with 4xx JSON only, stores nothing, and stays up`, async () => {
    const backend = await connectScenario(env);
    const before = await snapshot(backend);
    const statuses = new Map<number, number>();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(anyBadRequest, async (req) => {
        sent++;
        const res = await fetch(`${api.url}${req.path}`, {
          method: req.method,
          headers: req.headers,
          ...(req.body !== undefined ? { body: req.body } : {}),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const context = `${req.why} → ${res.status} ${text.slice(0, 300)}`;
        expect(res.status, context).toBeGreaterThanOrEqual(400);
        expect(res.status, context).toBeLessThan(500);
        const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
        expect(typeof body.error?.code, context).toBe('string');
        expect(typeof body.error?.message, context).toBe('string');
        expect(LEAK.test(text), context).toBe(false);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: false },
    );
    expect(api.alive()).toBe(true);
    const t0 = performance.now();
    const health = await fetch(`${api.url}/health`);
    const healthMs = performance.now() - t0;
    const after = await snapshot(backend);
    backend.close();
    figure('fuzzed requests (seeded fast-check)', sent);
    figure('fuzz answers by status', [...statuses].map(([s, n]) => `${s}×${n}`).join(' '));
    figure('/health after fuzzing', `${Math.round(healthMs)} ms`);
    expect(sent).toBeGreaterThanOrEqual(RUNS);
    expect(health.status).toBe(200);
    expect(healthMs).toBeLessThan(100);
    expect(after).toEqual(before);
  }, 600_000);

  it('keeps /health and uploads going with 200 idle connections and a byte-per-second upload, then drops them', async () => {
    const { port } = new URL(api.url);
    const idle: Socket[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const s = new Socket();
      closed.push(new Promise((resolve) => s.once('close', () => resolve())));
      s.on('error', () => undefined);
      s.resume();
      s.connect(Number(port), '127.0.0.1');
      idle.push(s);
    }
    const slow = new Socket();
    const slowClosed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    slow.on('error', () => undefined);
    slow.resume();
    slow.connect(Number(port), '127.0.0.1', () => {
      slow.write(
        'POST /api/v1/enhance HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n',
      );
    });
    const drip = setInterval(() => slow.writable && slow.write('a'), 1000);
    try {
      await sleep(300);
      const healthTimes: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        expect((await fetch(`${api.url}/health`)).status).toBe(200);
        healthTimes.push(performance.now() - t0);
      }
      const form = new FormData();
      form.append('file', new File([new Uint8Array(image)], 'ok.png', { type: 'image/png' }));
      const upload = await fetch(`${api.url}/api/v1/enhance`, { method: 'POST', body: form });
      expect(upload.status).toBe(200);
      // Idle sockets are closed by the headers timeout (2 s), the slow upload by the request timeout (4 s).
      const t0 = Date.now();
      await Promise.race([
        Promise.all([...closed, slowClosed]),
        sleep(15_000).then(() => Promise.reject(new Error('idle or slow connections were not closed'))),
      ]);
      figure('/health p100 with 200 idle connections + 1 B/s upload', `${Math.round(Math.max(...healthTimes))} ms`);
      figure('idle and slow connections closed after', `${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect(Math.max(...healthTimes)).toBeLessThan(100);
    } finally {
      clearInterval(drip);
      for (const s of [...idle, slow]) s.destroy();
    }
  }, 60_000);

  it('releases the event-stream pollers of clients that went away', async () => {
    const form = new FormData();
    form.append('file', new File([new Uint8Array(image)], 'watched.png', { type: 'image/png' }));
    // No worker runs in this scenario: the task stays queued and its streams would poll forever.
    const { task_id: taskId } = (await (
      await fetch(`${api.url}/api/v1/enhance`, { method: 'POST', body: form })
    ).json()) as {
      task_id: string;
    };
    const open = async () =>
      Number(/^photoenhance_api_sse_streams (\d+)/m.exec(await (await fetch(`${api.url}/metrics`)).text())?.[1] ?? -1);
    const clients = Array.from({ length: 20 }, () => new AbortController());
    await Promise.all(
      clients.map(async (ctl) => {
        const res = await fetch(`${api.url}/api/v1/tasks/${taskId}/events`, { signal: ctl.signal });
        const reader = res.body?.getReader();
        await reader?.read(); // the first event arrived: the poller runs
      }),
    );
    const during = await open();
    for (const ctl of clients) ctl.abort();
    let after = during;
    for (let i = 0; i < 50 && after > 0; i++) {
      await sleep(100);
      after = await open();
    }
    figure('event streams open with 20 clients / after they left', `${during} / ${after}`);
    expect(during).toBe(20);
    expect(after).toBe(0);
  }, 30_000);
});
