import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Per-worker registry (not prom-client's global one) so several workers can live in one process, as in tests. */
export function createWorkerMetrics() {
  const registry = new Registry();
  const jobs = new Counter({
    name: 'photoenhance_worker_jobs_total',
    help: 'Jobs finished by this worker, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const jobSeconds = new Histogram({
    name: 'photoenhance_worker_job_seconds',
    help: 'Wall time of one job from receive to acknowledge',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const busy = new Gauge({ name: 'photoenhance_worker_busy', help: '1 while a job is running', registers: [registry] });
  const ready = new Gauge({
    name: 'photoenhance_worker_ready',
    help: '1 once models are warmed up',
    registers: [registry],
  });
  return { registry, jobs, jobSeconds, busy, ready };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
export type JobOutcome = 'completed' | 'failed' | 'retry' | 'cancelled' | 'skipped' | 'released' | 'invalid';
