/**
 * The API as a real HTTP server in front of storage and a queue that accept connections and never answer (a
 * stalled MinIO / ElasticMQ): every request still gets a prompt JSON answer, /ready names what is down, and
 * slow or idle clients are cut off by the server's own timeouts. Only 127.0.0.1 is involved.
 */
import { createServer, Socket as NetSocket, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '@photoenhance/contracts';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../src/config.ts';
import { type RunningApi, startApiServer } from '../src/server.ts';

/** A TCP server that takes connections and reads requests but never writes a byte back. */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let api: RunningApi;
let s3: Awaited<ReturnType<typeof blackHole>>;
let sqs: Awaited<ReturnType<typeof blackHole>>;

beforeAll(async () => {
  [s3, sqs] = await Promise.all([blackHole(), blackHole()]);
  const config = loadApiConfig({
    S3_ENDPOINT: s3.url,
    SQS_ENDPOINT: sqs.url,
    SQS_QUEUE_URL: `${sqs.url}/000000000000/jobs`,
    SQS_DLQ_URL: `${sqs.url}/000000000000/dlq`,
    BOOTSTRAP_RESOURCES: 'false',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    BACKEND_TIMEOUT_MS: '800',
    HEADERS_TIMEOUT_MS: '1000',
    REQUEST_TIMEOUT_MS: '2000',
    KEEP_ALIVE_TIMEOUT_MS: '500',
  });
  api = await startApiServer(config, pino({ level: 'silent' }));
});
afterAll(async () => {
  await api?.stop();
  await Promise.all([s3?.close(), sqs?.close()]);
});

async function timed(path: string, init?: RequestInit) {
  const t0 = performance.now();
  const res = await fetch(`${api.url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  return { status: res.status, body, retryAfter: res.headers.get('retry-after'), ms: performance.now() - t0 };
}

describe('API with stalled storage and queue', () => {
  it('answers a status read 503 JSON with Retry-After within 2 s instead of hanging', async () => {
    const res = await timed(`/api/v1/status/${newId()}`);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).error.code).toBe('STORAGE_ERROR');
    expect(res.retryAfter).toBe('5');
    expect(res.ms).toBeLessThan(2000);
  });

  it('answers an upload 503 within about 2 s', async () => {
    const form = new FormData();
    // A valid 1×1 PNG: validation passes, the storage write stalls.
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    form.append('file', new File([new Uint8Array(png)], 'p.png', { type: 'image/png' }));
    const res = await timed('/api/v1/enhance', { method: 'POST', body: form });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).error.code).toMatch(/STORAGE_ERROR|QUEUE_ERROR/);
    expect(res.ms).toBeLessThan(2500);
  });

  it('/ready says 503 within 2 s and names both dependencies; /health stays fast', async () => {
    const ready = await timed('/ready');
    expect(ready.status).toBe(503);
    const body = JSON.parse(ready.body);
    expect(body.checks.storage).toMatch(/^error: /);
    expect(body.checks.queue).toMatch(/^error: /);
    expect(ready.ms).toBeLessThan(2000);
    const health = await timed('/health');
    expect(health.status).toBe(200);
    expect(health.ms).toBeLessThan(500);
  });
});

describe('slow and idle clients', () => {
  function connect(): Promise<Socket> {
    const { port } = new URL(api.url);
    return new Promise((resolve, reject) => {
      const socket = new NetSocket();
      socket.once('error', reject);
      // Read (and drop) what the server answers, as a client does: the 408 ends the connection.
      socket.resume();
      socket.connect(Number(port), '127.0.0.1', () => resolve(socket));
    });
  }
  const closed = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));

  it('closes a connection whose headers trickle in past HEADERS_TIMEOUT_MS, and still serves /health', async () => {
    const socket = await connect();
    const done = closed(socket);
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    const t0 = performance.now();
    const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
    try {
      await Promise.race([done, sleep(6000).then(() => Promise.reject(new Error('not closed')))]);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    expect(performance.now() - t0).toBeLessThan(4000);
    expect((await timed('/health')).status).toBe(200);
  });

  it('ends a byte-per-second upload after REQUEST_TIMEOUT_MS while other requests go on', async () => {
    const socket = await connect();
    const done = closed(socket);
    socket.write(
      'POST /api/v1/enhance HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n',
    );
    const t0 = performance.now();
    const drip = setInterval(() => socket.writable && socket.write('a'), 250);
    try {
      const health = await timed('/health');
      expect(health.status).toBe(200);
      await Promise.race([done, sleep(8000).then(() => Promise.reject(new Error('not closed')))]);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
