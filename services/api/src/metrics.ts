import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  tasksCreated: Counter;
  uploadsRejected: Counter<'code'>;
}

/** A private registry per app, so several apps (tests, launcher) never clash on metric names. */
export function createApiMetrics(options: { defaultMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'photoenhance_api_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'photoenhance_api_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'photoenhance_api_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    tasksCreated: new Counter({
      name: 'photoenhance_api_tasks_created_total',
      help: 'Tasks accepted',
      registers: [registry],
    }),
    uploadsRejected: new Counter({
      name: 'photoenhance_api_uploads_rejected_total',
      help: 'Uploads refused, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}
