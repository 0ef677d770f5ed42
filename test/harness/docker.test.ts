import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerAvailable, dockerEndpoint } from './docker.ts';

let dir: string;
const servers: Array<Server | NetServer> = [];
const sockets = new Set<Socket>();

/** An HTTP server on a unix socket answering /_ping like an engine (or with another status). */
async function fakeEngine(name: string, pingStatus: number): Promise<{ socketPath: string; pings: () => number }> {
  const socketPath = join(dir, name);
  let pings = 0;
  const server = createServer((req, res) => {
    if (req.url === '/_ping') pings++;
    res.writeHead(req.url === '/_ping' ? pingStatus : 404, { 'content-type': 'text/plain' }).end('OK');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return { socketPath, pings: () => pings };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pe-docker-probe-'));
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await rm(dir, { recursive: true, force: true });
});

describe('dockerAvailable', () => {
  it('is true when the socket answers GET /_ping with 200', async () => {
    const engine = await fakeEngine('docker.sock', 200);
    expect(await dockerAvailable({ endpoint: { socketPath: engine.socketPath } })).toBe(true);
    expect(engine.pings()).toBe(1);
  });

  it('is false when something answers, but not with 200', async () => {
    const engine = await fakeEngine('not-docker.sock', 500);
    expect(await dockerAvailable({ endpoint: { socketPath: engine.socketPath } })).toBe(false);
    expect(engine.pings()).toBe(1);
  });

  it('is false at once when the socket file does not exist', async () => {
    const started = performance.now();
    expect(await dockerAvailable({ endpoint: { socketPath: join(dir, 'missing.sock') } })).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('is false within the timeout when the socket accepts but never answers', async () => {
    const socketPath = join(dir, 'silent.sock');
    const silent = createNetServer((socket) => sockets.add(socket));
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
    const started = performance.now();
    expect(await dockerAvailable({ endpoint: { socketPath }, timeoutMs: 150 })).toBe(false);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
  });

  it('is false when no endpoint can be probed (ssh:// DOCKER_HOST)', async () => {
    expect(await dockerAvailable({ endpoint: undefined })).toBe(false);
  });

  it('probes a TCP engine (DOCKER_HOST=tcp://…)', async () => {
    const server = createServer((req, res) => res.writeHead(req.url === '/_ping' ? 200 : 404).end('OK'));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = dockerEndpoint(`tcp://127.0.0.1:${(server.address() as AddressInfo).port}`);
    expect(await dockerAvailable({ endpoint })).toBe(true);
  });
});

describe('dockerEndpoint', () => {
  it('reads DOCKER_HOST, defaulting to the standard socket', () => {
    expect(dockerEndpoint(undefined)).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(dockerEndpoint('')).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(dockerEndpoint('unix:///run/user/1000/docker.sock')).toEqual({ socketPath: '/run/user/1000/docker.sock' });
    expect(dockerEndpoint('tcp://10.0.0.5:2376')).toEqual({ host: '10.0.0.5', port: 2376 });
    expect(dockerEndpoint('tcp://docker')).toEqual({ host: 'docker', port: 2375 });
    expect(dockerEndpoint('ssh://me@host')).toBeUndefined();
  });
});
