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
  // Service-breadth metrics: per-stage durations and failure codes of finished tasks, webhooks, registration.
  const stageSeconds = new Histogram({
    name: 'photoenhance_worker_task_stage_seconds',
    help: 'Duration of finished tasks by stage: engine stages, queue_wait (created → started) and total',
    labelNames: ['stage'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers: [registry],
  });
  const taskFailures = new Counter({
    name: 'photoenhance_worker_task_failures_total',
    help: 'Tasks failed for good, by error code (EXHAUSTED for dead-lettered jobs)',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const callbacks = new Counter({
    name: 'photoenhance_worker_callbacks_total',
    help: 'Client webhook deliveries by outcome (delivered, failed, refused by the address policy)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const announcements = new Counter({
    name: 'photoenhance_worker_announcements_total',
    help: 'Registration requests (register, heartbeat, deregister) by target and outcome',
    labelNames: ['target', 'event', 'outcome'] as const,
    registers: [registry],
  });
  let currentState: () => string = () => 'idle';
  const state = new Gauge({
    name: 'photoenhance_worker_state',
    help: '1 for the state the worker is in (warming, idle, busy, stopping, stopped)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const now = currentState();
      for (const s of ['warming', 'idle', 'busy', 'stopping', 'stopped']) this.set({ state: s }, s === now ? 1 : 0);
    },
  });
  /** The state gauge reads the worker at scrape time. */
  const bindState = (read: () => string): void => {
    currentState = read;
  };
  return {
    registry,
    jobs,
    jobSeconds,
    busy,
    ready,
    stageSeconds,
    taskFailures,
    callbacks,
    announcements,
    state,
    bindState,
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
export type JobOutcome = 'completed' | 'failed' | 'retry' | 'cancelled' | 'skipped' | 'released' | 'invalid';
