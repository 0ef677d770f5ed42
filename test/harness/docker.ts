/**
 * Is a Docker engine there? Answered by one GET /_ping with a short timeout, so machines without Docker pay
 * ~nothing (no socket file: false without any I/O) and nothing is printed either way.
 */
import { existsSync } from 'node:fs';
import { type RequestOptions, request } from 'node:http';

const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Where the engine listens: a unix socket path, or a TCP host and port. */
export type DockerEndpoint = { socketPath: string } | { host: string; port: number };

/**
 * The endpoint DOCKER_HOST names (`unix:///path`, `tcp://host:port`), else the default socket. Other schemes
 * (ssh://, npipe://) cannot be probed with plain HTTP: undefined, and the harness treats Docker as absent
 * (PHOTOENHANCE_TEST_BACKEND=containers still forces the container backend there).
 */
export function dockerEndpoint(dockerHost: string | undefined): DockerEndpoint | undefined {
  if (!dockerHost) return { socketPath: DEFAULT_SOCKET };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  if (dockerHost.startsWith('tcp://')) {
    const url = new URL(`http://${dockerHost.slice('tcp://'.length)}`);
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  return undefined;
}

export interface DockerProbeOptions {
  /** Defaults to what DOCKER_HOST names. */
  endpoint?: DockerEndpoint | undefined;
  timeoutMs?: number;
}

/** True when a Docker engine answers /_ping with 200 within the timeout; every failure is a quiet false. */
export async function dockerAvailable(options: DockerProbeOptions = {}): Promise<boolean> {
  const endpoint = 'endpoint' in options ? options.endpoint : dockerEndpoint(process.env.DOCKER_HOST);
  if (!endpoint) return false;
  if ('socketPath' in endpoint && !existsSync(endpoint.socketPath)) return false;
  const timeoutMs = options.timeoutMs ?? 500;
  const target: RequestOptions =
    'socketPath' in endpoint ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port };
  return new Promise((resolve) => {
    // agent: false — a one-off connection, never a pooled keep-alive socket that outlives the probe.
    const req = request({ ...target, agent: false, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    // `timeout` only fires on an idle socket; the timer also bounds a slow connect or a trickling answer.
    const timer = setTimeout(() => req.destroy(), timeoutMs);
    timer.unref();
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
    req.end();
  });
}
