import type { QueueDepth, TaskChangeObserver } from '@photoenhance/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Queue attributes and the worker list are read at scrape time; a slow backend must not hang the scrape. */
const SCRAPE_SOURCE_TIMEOUT_MS = 2000;

export interface QueueDepthSource {
  depth(): Promise<QueueDepth>;
  dlqDepth(): Promise<QueueDepth>;
}

export interface ApiMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  tasksCreated: Counter;
  uploadsRejected: Counter<'code'>;
  /** Refused worker announcements (bad signature, replay). */
  workerAuthFailures: Counter<'reason'>;
  /** Event streams open now: each one polls storage until it ends, so a leak would show here. */
  sseStreams: Gauge;
  /** Task ids announced by the cross-instance progress channel (TASK_CHANGES_TOPIC_ARN), once per received batch. */
  progressNotices: Counter;
  /** Messages on this instance's progress queue that were not S3 events (dropped). */
  progressNoticesUnreadable: Counter;
  /** From S3's eventTime of a record write to its notice reaching this instance. */
  progressNoticeLag: Histogram;
  /** Makes the queue/DLQ depth gauges read this queue on every scrape. */
  bindQueue(queue: QueueDepthSource): void;
  /** Makes the workers gauge read the registry on every scrape. */
  bindWorkerSource(count: () => Promise<{ alive: number; stale: number }>): void;
}

async function withTimeout<T>(run: () => Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      run(),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), SCRAPE_SOURCE_TIMEOUT_MS);
      }),
    ]);
  } catch {
    // An unreachable backend shows up in /ready and in the last values staying put, not as a failed scrape.
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** A private registry per app, so several apps (tests, launcher) never clash on metric names. */
export function createApiMetrics(options: { defaultMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'photoenhance_api_' });
  let queue: QueueDepthSource | undefined;
  let workerCount: (() => Promise<{ alive: number; stale: number }>) | undefined;

  new Gauge({
    name: 'photoenhance_api_queue_messages',
    help: 'Messages in the jobs queue and its dead-letter queue, by state (read from SQS at scrape time)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      if (!queue) return;
      const source = queue;
      const [jobs, dlq] = await Promise.all([withTimeout(() => source.depth()), withTimeout(() => source.dlqDepth())]);
      for (const [name, depth] of [
        ['jobs', jobs],
        ['dlq', dlq],
      ] as const) {
        if (!depth) continue;
        this.set({ queue: name, state: 'visible' }, depth.visible);
        this.set({ queue: name, state: 'in_flight' }, depth.inFlight);
        this.set({ queue: name, state: 'delayed' }, depth.delayed);
      }
    },
  });
  new Gauge({
    name: 'photoenhance_api_workers',
    help: 'Registered workers by status (alive: heartbeat within WORKER_STALE_AFTER_SECONDS)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      if (!workerCount) return;
      const source = workerCount;
      const counts = await withTimeout(source);
      if (!counts) return;
      this.set({ status: 'alive' }, counts.alive);
      this.set({ status: 'stale' }, counts.stale);
    },
  });

  return {
    registry,
    sseStreams: new Gauge({
      name: 'photoenhance_api_sse_streams',
      help: 'Server-Sent Event streams open now (task and batch events)',
      registers: [registry],
    }),
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
    workerAuthFailures: new Counter({
      name: 'photoenhance_api_worker_auth_failures_total',
      help: 'Worker announcements refused: bad or expired signature, or a replay',
      labelNames: ['reason'],
      registers: [registry],
    }),
    progressNotices: new Counter({
      name: 'photoenhance_api_progress_notices_total',
      help: "Task change notices received from the progress channel (S3 events via SNS and this instance's SQS queue)",
      registers: [registry],
    }),
    progressNoticesUnreadable: new Counter({
      name: 'photoenhance_api_progress_notices_unreadable_total',
      help: 'Messages on the progress queue that were not S3 event notifications (dropped)',
      registers: [registry],
    }),
    progressNoticeLag: new Histogram({
      name: 'photoenhance_api_progress_notice_lag_seconds',
      help: 'Time from a task record write (S3 eventTime) to its notice reaching this API instance',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    bindQueue(source) {
      queue = source;
    },
    bindWorkerSource(count) {
      workerCount = count;
    },
  };
}

/** Feeds the progress channel's reports into the metrics above. */
export function progressNoticeObserver(
  metrics: Pick<ApiMetrics, 'progressNotices' | 'progressNoticesUnreadable' | 'progressNoticeLag'>,
): TaskChangeObserver {
  return {
    received: (count) => metrics.progressNotices.inc(count),
    unreadable: (count) => metrics.progressNoticesUnreadable.inc(count),
    lag: (ms) => metrics.progressNoticeLag.observe(ms / 1000),
  };
}
