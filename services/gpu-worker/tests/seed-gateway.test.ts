import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../src/config.ts';
import type { WorkerLogger } from '../src/ports.ts';
import { createSeedGatewayRegistrar } from '../src/registration/seed-gateway.ts';

const SECRET = 'gpu-server-register-to-api-gateway';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A gateway on 127.0.0.1 built as PhotoEnhanceAI's expects: refuses the first `refusals` posts with 500. */
async function gateway(refusals = 0) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(received.length <= refusals ? 500 : 200, { 'content-type': 'application/json' });
      res.end('{"success": true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook/register`, received };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function recordingLogger(): WorkerLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (obj: object, msg?: string) =>
    lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

describe('registration with a PhotoEnhanceAI gateway (GATEWAY_PROTOCOL=photoenhanceai)', () => {
  it('POSTs {"ip","port","secret"} as JSON until accepted, warns that the secret is in the body, never logs it', async () => {
    const gw = await gateway(1);
    const logger = recordingLogger();
    const registrar = createSeedGatewayRegistrar({
      url: gw.url,
      secret: SECRET,
      announcePort: 8000,
      address: async () => ({ url: 'http://203.0.113.7:8001', source: 'ip-lookup' }),
      logger,
      initialRetryMs: 20,
      timeoutMs: 500,
    });
    registrar.start();
    for (let i = 0; i < 200 && registrar.registeredWith().length === 0; i++) await sleep(10);
    await registrar.stop();
    expect(registrar.registeredWith()).toEqual(['gateway']);

    // Refused once (500), then accepted: the same body twice, nothing after it (no heartbeat in that protocol).
    expect(gw.received).toHaveLength(2);
    for (const r of gw.received) {
      expect(r.path).toBe('/webhook/register');
      expect(r.headers['content-type']).toBe('application/json');
      expect(JSON.parse(r.body)).toEqual({ ip: '203.0.113.7', port: 8000, secret: SECRET });
      expect(r.headers['x-photoenhance-signature']).toBeUndefined();
    }
    expect(logger.lines.filter((l) => l.startsWith('warn') && l.includes('in clear'))).toHaveLength(1);
    expect(logger.lines.some((l) => l.includes(SECRET))).toBe(false);
  });

  it('announces a bare IPv6 host, and skips (with a warning) when no address is known', async () => {
    const gw = await gateway();
    const logger = recordingLogger();
    let known = false;
    const registrar = createSeedGatewayRegistrar({
      url: gw.url,
      secret: SECRET,
      announcePort: 9000,
      address: async () => (known ? { url: 'http://[2001:db8::5]:8001', source: 'interface' } : undefined),
      logger,
      initialRetryMs: 20,
    });
    registrar.start();
    await sleep(60);
    expect(gw.received).toHaveLength(0);
    expect(logger.lines.some((l) => l.includes('no address to announce'))).toBe(true);
    known = true;
    for (let i = 0; i < 200 && registrar.registeredWith().length === 0; i++) await sleep(10);
    await registrar.stop();
    expect(JSON.parse(gw.received[0]?.body ?? '{}')).toEqual({ ip: '2001:db8::5', port: 9000, secret: SECRET });
  });

  it('is HTTPS only unless GATEWAY_ALLOW_HTTP says otherwise, needs GATEWAY_SECRET, and never echoes it', () => {
    const seed = { GATEWAY_PROTOCOL: 'photoenhanceai', GATEWAY_SECRET: SECRET };
    const refusal = (env: Record<string, string>) => {
      try {
        loadWorkerConfig(env);
      } catch (err) {
        return String((err as Error).message);
      }
      throw new Error('expected a refusal');
    };
    const http = refusal({ ...seed, GATEWAY_URL: 'http://gateway.example/webhook/register' });
    expect(http).toMatch(/GATEWAY_URL.*https/);
    expect(http).not.toContain(SECRET);
    expect(refusal({ GATEWAY_PROTOCOL: 'photoenhanceai', GATEWAY_URL: 'https://g.example/r' })).toMatch(
      /GATEWAY_SECRET/,
    );
    expect(refusal({ ...seed })).toMatch(/GATEWAY_URL/);

    // HTTPS, or plain HTTP when told: accepted, and no HMAC secret is needed for that gateway.
    const https = loadWorkerConfig({ ...seed, GATEWAY_URL: 'https://gateway.example/webhook/register' });
    expect(https).toMatchObject({ GATEWAY_PROTOCOL: 'photoenhanceai', GATEWAY_ANNOUNCE_PORT: 8000 });
    expect(
      loadWorkerConfig({ ...seed, GATEWAY_URL: 'http://10.0.0.2/webhook/register', GATEWAY_ALLOW_HTTP: 'true' })
        .GATEWAY_ALLOW_HTTP,
    ).toBe(true);
    // The signed protocol stays the default, and keeps requiring its HMAC secret.
    expect(() => loadWorkerConfig({ GATEWAY_URL: 'https://gateway.example/hook' })).toThrow(
      /WORKER_REGISTRATION_SECRET/,
    );
  });
});
