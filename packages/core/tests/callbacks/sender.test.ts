import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DELIVERY_HEADER, EVENT_HEADER } from '../../src/callbacks/payload.ts';
import { createCallbackSender } from '../../src/callbacks/sender.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../../src/signing/hmac.ts';

const SECRET = 'callback-secret-for-tests';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1 answering with the given statuses in turn (the last one repeats). */
async function startReceiver(
  statuses: number[],
): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 200;
      res.writeHead(status).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const payload = { event: 'task.completed', delivery_id: 'abc.completed', task_id: 'abc' };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('callback sender', () => {
  it('POSTs signed JSON to a local receiver when private targets are allowed', async () => {
    const receiver = await startReceiver([204]);
    cleanups.push(receiver.close);
    const sender = createCallbackSender({ secret: SECRET, allowPrivate: true, backoffMs: 10 });
    const result = await sender.deliver(receiver.url, payload);
    expect(result).toMatchObject({ delivered: true, attempts: 1, status: 204 });
    const [got] = receiver.received;
    expect(got).toBeDefined();
    if (!got) return;
    expect(JSON.parse(got.body)).toEqual(payload);
    expect(got.headers[EVENT_HEADER]).toBe('task.completed');
    expect(got.headers[DELIVERY_HEADER]).toBe('abc.completed');
    expect(() =>
      verifySignature({
        secret: SECRET,
        timestamp: got.headers[TIMESTAMP_HEADER] as string,
        signature: got.headers[SIGNATURE_HEADER] as string,
        body: got.body,
      }),
    ).not.toThrow();
  });

  it('retries 5xx answers with back-off, keeping the delivery id', async () => {
    const receiver = await startReceiver([503, 500, 200]);
    cleanups.push(receiver.close);
    const sender = createCallbackSender({ secret: SECRET, allowPrivate: true, backoffMs: 5, maxAttempts: 5 });
    const result = await sender.deliver(receiver.url, payload);
    expect(result).toMatchObject({ delivered: true, attempts: 3 });
    expect(new Set(receiver.received.map((r) => r.headers[DELIVERY_HEADER]))).toEqual(new Set(['abc.completed']));
  });

  it('gives up on a 4xx answer without retrying', async () => {
    const receiver = await startReceiver([410]);
    cleanups.push(receiver.close);
    const sender = createCallbackSender({ allowPrivate: true, backoffMs: 5 });
    const result = await sender.deliver(receiver.url, payload);
    expect(result).toMatchObject({ delivered: false, attempts: 1, status: 410 });
  });

  it('refuses a loopback receiver when private targets are not allowed, before connecting', async () => {
    const receiver = await startReceiver([200]);
    cleanups.push(receiver.close);
    const sender = createCallbackSender({ allowPrivate: false, backoffMs: 5 });
    const result = await sender.deliver(receiver.url, payload);
    expect(result).toMatchObject({ delivered: false, refused: true, attempts: 0 });
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a host name that resolves to a private address, without connecting', async () => {
    const resolved: string[] = [];
    // The resolver is the test's: no DNS query leaves the machine and the address is never dialled.
    const sender = createCallbackSender({
      allowPrivate: false,
      backoffMs: 5,
      resolve: async (host) => {
        resolved.push(host);
        return [
          { address: '93.184.215.14', family: 4 },
          { address: '10.0.0.7', family: 4 },
        ];
      },
    });
    const result = await sender.deliver('http://hooks.example.test/x', payload);
    expect(resolved).toEqual(['hooks.example.test']);
    expect(result).toMatchObject({ delivered: false, refused: true, attempts: 1 });
    expect(result.error).toMatch(/private/);
  });

  it.each([
    ['169.254.169.254', 'link-local'],
    ['::127.0.0.1', 'loopback'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
  ])('refuses, before connecting, a public-looking name that resolves to %s (%s)', async (address, kind) => {
    const sender = createCallbackSender({
      allowPrivate: false,
      backoffMs: 5,
      resolve: async () => [{ address, family: address.includes(':') ? 6 : 4 }],
    });
    const result = await sender.deliver('http://hooks.example.test/x', payload);
    expect(result).toMatchObject({ delivered: false, refused: true });
    expect(result.error).toContain(kind);
  });

  it.each([
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://169.254.169.254.nip.io/',
    'http:///x',
    'http://[::127.0.0.1]/',
    'http://[::ffff:0:127.0.0.1]/',
  ])('refuses %s before any lookup or connection', async (url) => {
    const looked: string[] = [];
    const sender = createCallbackSender({
      allowPrivate: false,
      backoffMs: 5,
      resolve: async (host) => {
        looked.push(host);
        return [{ address: '93.184.215.14', family: 4 }];
      },
    });
    const result = await sender.deliver(url, payload);
    expect(result).toMatchObject({ delivered: false, refused: true, attempts: 0 });
    expect(looked).toEqual([]);
  });
});
