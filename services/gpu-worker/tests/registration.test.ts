import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type WorkerAnnouncement, WorkerAnnouncementSchema, type WorkerInfoInput } from '@photoenhance/contracts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '@photoenhance/core';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../src/config.ts';
import { discoverAddress } from '../src/registration/address-discovery.ts';
import { parseNvidiaSmi } from '../src/registration/gpu-info.ts';
import { createRegistrar, registrationTargets } from '../src/registration/registrar.ts';
import { silentLogger } from './support.ts';

const SECRET = 'worker-registration-secret-0123';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A fake on 127.0.0.1 (IMDS, IP lookup, registry): nothing in these tests leaves the machine. */
async function fakeServer(handler: Handler): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
async function fake(handler: Handler) {
  const server = await fakeServer(handler);
  cleanups.push(server.close);
  return server;
}

const base = { port: 8001, timeoutMs: 300, ipLookupUrls: [] as string[], logger: silentLogger };
/** Unroutable on purpose; only used where the test proves it is never contacted. */
const NEVER_CONTACTED = 'http://127.0.0.1:9';

describe('address discovery', () => {
  it('uses PUBLIC_URL as is, without any lookup', async () => {
    const found = await discoverAddress({
      ...base,
      publicUrl: 'https://gpu-1.example.com:8443',
      methods: ['imds', 'ip-lookup', 'interface'],
      imdsUrl: NEVER_CONTACTED,
      fetch: () => {
        throw new Error('no request expected');
      },
    });
    expect(found).toEqual({ url: 'https://gpu-1.example.com:8443', source: 'config' });
  });

  it('reads the public IPv4 from IMDSv2 with a session token', async () => {
    const seen: string[] = [];
    const imds = await fake((req, _body, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.method === 'PUT' && req.url === '/latest/api/token') {
        expect(req.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBeDefined();
        return res.end('token-123');
      }
      if (req.url === '/latest/meta-data/public-ipv4' && req.headers['x-aws-ec2-metadata-token'] === 'token-123') {
        return res.end('203.0.113.25');
      }
      res.writeHead(401).end();
    });
    const found = await discoverAddress({ ...base, methods: ['imds', 'interface'], imdsUrl: imds.url });
    expect(found).toEqual({ url: 'http://203.0.113.25:8001', source: 'imds' });
    expect(seen).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/public-ipv4']);
  });

  it('falls through IMDS without a public IP, a hanging and a broken lookup service, to one that answers', async () => {
    const imds = await fake((req, _b, res) => {
      if (req.method === 'PUT') return res.end('t');
      res.writeHead(404).end();
    });
    const hanging = await fake(() => undefined);
    const broken = await fake((_r, _b, res) => res.end('not an address'));
    const json = await fake((_r, _b, res) => res.end(JSON.stringify({ ip: '198.51.100.4' })));
    const started = Date.now();
    const found = await discoverAddress({
      ...base,
      methods: ['imds', 'ip-lookup', 'interface'],
      imdsUrl: imds.url,
      ipLookupUrls: [hanging.url, broken.url, json.url],
    });
    expect(found).toEqual({ url: 'http://198.51.100.4:8001', source: 'ip-lookup' });
    // The hanging service cost one timeout, not more.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('ends at the local interface, and finds nothing when discovery is off', async () => {
    const imds = await fake((_r, _b, res) => res.writeHead(500).end());
    const found = await discoverAddress({ ...base, methods: ['imds', 'interface'], imdsUrl: imds.url });
    // Containers always have one non-loopback interface; the exact address is the machine's.
    if (found) expect(found.source).toBe('interface');
    expect(await discoverAddress({ ...base, methods: [], imdsUrl: NEVER_CONTACTED })).toBeUndefined();
  });
});

function describeWorker(state: WorkerInfoInput['state'] = 'idle'): WorkerInfoInput {
  return {
    workerId: 'gpu-test-1',
    url: 'http://203.0.113.25:8001',
    addressSource: 'imds',
    version: '0.1.0',
    providers: ['cpu'],
    capacity: 1,
    state,
    startedAt: new Date().toISOString(),
  };
}

/** A registry fake that verifies signatures like the API does and records the events it accepted. */
async function fakeRegistry(statuses: number[] = []) {
  const accepted: WorkerAnnouncement[] = [];
  const paths: string[] = [];
  let calls = 0;
  const server = await fake((req, body, res) => {
    calls++;
    paths.push(req.url ?? '');
    const forced = statuses.shift();
    if (forced) return res.writeHead(forced).end();
    try {
      verifySignature({
        secret: SECRET,
        timestamp: req.headers[TIMESTAMP_HEADER] as string,
        signature: req.headers[SIGNATURE_HEADER] as string,
        body,
      });
    } catch {
      return res.writeHead(401).end();
    }
    accepted.push(WorkerAnnouncementSchema.parse(JSON.parse(body)));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  return { ...server, accepted, paths, calls: () => calls };
}

describe('registrar', () => {
  it('registers, heartbeats and deregisters with signed requests at the API routes', async () => {
    const registry = await fakeRegistry();
    const registrar = createRegistrar({
      targets: registrationTargets({ registerUrl: registry.url }),
      secret: SECRET,
      describe: () => describeWorker(),
      heartbeatMs: 100,
      logger: silentLogger,
    });
    registrar.start();
    const heartbeats = () => registry.accepted.filter((a) => a.event === 'heartbeat').length;
    for (let i = 0; i < 200 && heartbeats() < 2; i++) await sleep(25);
    await registrar.stop();
    const events = registry.accepted.map((a) => a.event);
    expect(events[0]).toBe('register');
    expect(events.filter((e) => e === 'heartbeat').length).toBeGreaterThanOrEqual(2);
    expect(events.at(-1)).toBe('deregister');
    expect(new Set(registry.paths)).toEqual(
      new Set(['/api/v1/workers/register', '/api/v1/workers/heartbeat', '/api/v1/workers/deregister']),
    );
    // Every body is unique (fresh nonce), so a registry can tell a replay from a new heartbeat.
    expect(new Set(registry.accepted.map((a) => a.nonce)).size).toBe(registry.accepted.length);
    expect(registrar.registeredWith()).toEqual([]);
  });

  it('retries registration with back-off until the registry accepts it', async () => {
    const registry = await fakeRegistry([503, 503, 500]);
    const registrar = createRegistrar({
      targets: registrationTargets({ registerUrl: registry.url }),
      secret: SECRET,
      describe: () => describeWorker(),
      heartbeatMs: 10_000,
      initialRetryMs: 20,
      logger: silentLogger,
    });
    registrar.start();
    for (let i = 0; i < 100 && registrar.registeredWith().length === 0; i++) await sleep(20);
    expect(registrar.registeredWith()).toEqual(['api']);
    expect(registry.calls()).toBe(4);
    await registrar.stop();
  });

  it('announces to a gateway at one URL, and never throws while nothing answers', async () => {
    const gateway = await fakeRegistry();
    const registrar = createRegistrar({
      targets: registrationTargets({ registerUrl: 'http://127.0.0.1:9', gatewayUrl: `${gateway.url}/hooks/gpu` }),
      secret: SECRET,
      describe: () => describeWorker(),
      heartbeatMs: 10_000,
      initialRetryMs: 20,
      timeoutMs: 200,
      logger: silentLogger,
    });
    registrar.start();
    for (let i = 0; i < 100 && registrar.registeredWith().length === 0; i++) await sleep(20);
    expect(registrar.registeredWith()).toEqual(['gateway']);
    await registrar.stop();
    expect(gateway.accepted.map((a) => a.event)).toEqual(['register', 'deregister']);
    expect(new Set(gateway.paths)).toEqual(new Set(['/hooks/gpu']));
  });
});

describe('GPU facts', () => {
  it('reads names and memory from nvidia-smi CSV output', () => {
    // Shape of `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` on a two-GPU host.
    const out = 'NVIDIA H100 80GB HBM3, 81559\nNVIDIA H100 80GB HBM3, [N/A]\n\n';
    expect(parseNvidiaSmi(out)).toEqual([
      { name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81_559 },
      { name: 'NVIDIA H100 80GB HBM3' },
    ]);
    expect(parseNvidiaSmi('')).toEqual([]);
  });
});

describe('registration config', () => {
  it('requires the secret once a registration target is set, and never echoes it', () => {
    expect(() => loadWorkerConfig({ REGISTER_URL: 'http://api:8000' })).toThrow(/WORKER_REGISTRATION_SECRET/);
    const short = 'too-short';
    try {
      loadWorkerConfig({ REGISTER_URL: 'http://api:8000', WORKER_REGISTRATION_SECRET: short });
      throw new Error('expected a refusal');
    } catch (err) {
      expect(String((err as Error).message)).toMatch(/WORKER_REGISTRATION_SECRET/);
      expect(String((err as Error).message)).not.toContain(short);
    }
    const config = loadWorkerConfig({
      IP_LOOKUP_URLS: 'http://127.0.0.1:1/ip, http://127.0.0.1:2/',
      ADDRESS_DISCOVERY: 'none',
    });
    expect(config.IP_LOOKUP_URLS).toHaveLength(2);
    expect(config.ADDRESS_DISCOVERY).toEqual([]);
  });
});
