import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkerMetrics } from './metrics.ts';

export interface HealthState {
  /** Models loaded and warmed up: the worker may take jobs. */
  ready(): boolean;
  /** Facts for humans and the orchestrator (current job, counters). */
  describe(): Record<string, unknown>;
}

/**
 * Liveness/readiness/metrics over plain node:http: the worker serves no clients, so it needs no framework.
 * /health answers while the process runs, /ready only after warm-up (load balancers and k8s gate on it).
 */
export function createHealthServer(state: HealthState, metrics: WorkerMetrics) {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
    if (path === '/health') return json(200, { status: 'ok', ...state.describe() });
    if (path === '/ready') return state.ready() ? json(200, { status: 'ready' }) : json(503, { status: 'warming up' });
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text))
        .catch((err: unknown) => json(500, { error: String(err) }));
      return;
    }
    json(404, { error: 'not found' });
  });

  return {
    /** Port 0 picks a free port (tests); returns the bound port. */
    async listen(port: number, host = '0.0.0.0'): Promise<number> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    },
    async close(): Promise<void> {
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type HealthServer = ReturnType<typeof createHealthServer>;
