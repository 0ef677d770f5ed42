import { existsSync } from 'node:fs';
import { request } from 'node:http';

const SOCKET = process.env.DOCKER_HOST?.startsWith('unix://')
  ? process.env.DOCKER_HOST.slice('unix://'.length)
  : '/var/run/docker.sock';

/** True when a Docker engine answers /_ping on its socket within the timeout (no socket: false at once). */
export async function dockerAvailable(timeoutMs = 500): Promise<boolean> {
  if (!existsSync(SOCKET)) return false;
  return new Promise((resolve) => {
    const req = request({ socketPath: SOCKET, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}
