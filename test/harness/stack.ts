/**
 * One entry point for cross-service tests: an S3 + SQS backend, the API on a free port, and workers on
 * demand. Which backend runs is decided once per stack (rules in backend-mode.ts), and logged:
 *  - external: S3_ENDPOINT / SQS_ENDPOINT (or SQS_QUEUE_URL) name running services (LocalStack, MinIO +
 *    ElasticMQ, a real account) — each stack still gets its own queue + DLQ, so runs do not collide;
 *  - containers: a Docker engine answers — MinIO + LocalStack started by testcontainers for this stack and
 *    removed by stop() (containers.ts);
 *  - embedded: fauxqs inside the test process, persisted under a temp dir (restartable).
 * PHOTOENHANCE_TEST_BACKEND=embedded|containers|external forces one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { newId } from '@photoenhance/contracts';
import {
  type Backend,
  type CommonConfig,
  CommonEnvSchema,
  connectBackend,
  type EmbeddedBackend,
  embeddedEnv,
  loadConfig,
  startEmbeddedBackend,
} from '@photoenhance/core';
import {
  createWorker,
  type Worker,
  type WorkerEngine,
  type WorkerStorage,
  type WorkerTimings,
} from '@photoenhance/gpu-worker';
import { type Logger, pino } from 'pino';
import { decideStackMode, type StackMode, type StackModeDecision } from './backend-mode.ts';
import type { StackContainers } from './containers.ts';
import { dockerAvailable } from './docker.ts';

export type { StackMode } from './backend-mode.ts';

export interface StackOptions {
  /** Deliveries before the DLQ (default 3). */
  maxReceiveCount?: number;
  /** Start the API (default true). */
  api?: boolean;
  /** Extra API variables (DOWNLOAD_MODE…). */
  apiEnv?: Record<string, string>;
  /** The API's logger (default: silent), e.g. to check what its log lines hold. */
  apiLogger?: Logger;
  /**
   * A bucket of this stack's own (created on start), for tests whose sweeps must not touch what test files running
   * beside them store in the shared bucket of an external backend.
   */
  ownBucket?: boolean;
}

export interface WorkerHandle {
  worker: Worker;
  outcomes: string[];
  stop(options?: { graceMs?: number }): Promise<void>;
  kill(): Promise<void>;
}

export interface StartWorkerOptions {
  engine: WorkerEngine;
  timings?: Partial<WorkerTimings>;
  /** Wraps the stack's storage (fault injection). */
  wrapStorage?: (storage: Backend['storage']) => WorkerStorage;
}

export interface Stack {
  mode: StackMode;
  config: CommonConfig;
  backend: Backend;
  /** Base URL of the API (no trailing slash); empty when api: false. */
  apiUrl: string;
  startWorker(options: StartWorkerOptions): Promise<WorkerHandle>;
  /**
   * Another API instance on the same backend and port-free (as behind a load balancer): its base URL. Stopped
   * with the stack; not restarted by restart().
   */
  addApi(env?: Record<string, string>): Promise<string>;
  /** Embedded only: stop the whole stack except the data dir, then start it again on the same ports. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export const TEST_TIMINGS: Omit<WorkerTimings, 'workerId'> = {
  waitTimeSeconds: 1,
  visibilityTimeoutSeconds: 3,
  heartbeatMs: 1000,
  concurrency: 1,
  recordGraceMs: 5000,
  cancelPollMs: 100,
  shutdownGraceMs: 5000,
  progressIntervalMs: 100,
  retryBackoffSeconds: 0,
  dlqReapIntervalMs: 300,
};

/** The probe is a silent /_ping with a short timeout (no socket: false at once), so it always runs. */
async function chooseMode(): Promise<StackModeDecision> {
  return decideStackMode(process.env, await dockerAvailable());
}

/** The line that says which backend ran, with where it is and why it was chosen. */
function describeBackend(decision: StackModeDecision, config: CommonConfig, images: string): string {
  const where = `S3 ${config.S3_ENDPOINT ?? '(aws)'}, SQS ${config.SQS_ENDPOINT ?? '(aws)'}`;
  switch (decision.mode) {
    case 'external':
      return `[stack] external endpoints: ${where} (${decision.reason})`;
    case 'containers':
      return `[stack] testcontainers ${images}: ${where} (${decision.reason})`;
    case 'embedded':
      return `[stack] embedded fauxqs, in-process, persisted to a temp dir: ${where} (${decision.reason})`;
  }
}

async function startApi(
  backend: Backend,
  config: CommonConfig,
  env: Record<string, string>,
  port = 0,
  logger: Logger = log,
): Promise<{ url: string; server: ServerType }> {
  const api = await import('@photoenhance/api');
  // Tests poll every 100 ms from one address: no rate limit unless a test sets one (test/security/limits does).
  // The stack's API and workers share no change channel (as separate processes would not), so event streams poll;
  // at the 500 ms default a sub-second test job would show no stage between queued and done.
  const apiConfig = api.loadApiConfig({
    ...configToEnv(config),
    PORT: String(port),
    RATE_LIMIT_PER_MINUTE: '0',
    SSE_POLL_MS: '100',
    ...env,
  });
  const app = api.createApp({ storage: backend.storage, queue: backend.queue, config: apiConfig, logger });
  const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** The stack's config as env vars, so the API's own schema parses the same values. */
function configToEnv(config: CommonConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (v !== undefined) env[k] = String(v);
  return env;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const decision = await chooseMode();
  const mode = decision.mode;
  const suffix = newId().slice(0, 8);
  let dataDir: string | undefined;
  let embedded: EmbeddedBackend | undefined;
  let containers: StackContainers | undefined;
  let images = '';
  let env: Record<string, string | undefined>;
  if (mode === 'embedded') {
    dataDir = await mkdtemp(join(tmpdir(), 'pe-stack-'));
    embedded = await startEmbeddedBackend({ dataDir, port: 0 });
    env = embeddedEnv(embedded);
  } else if (mode === 'containers') {
    // Imported here: the other modes never load testcontainers.
    const { startContainers, MINIO_IMAGE, LOCALSTACK_IMAGE } = await import('./containers.ts');
    images = `(MinIO ${MINIO_IMAGE}, LocalStack ${LOCALSTACK_IMAGE})`;
    containers = await startContainers();
    env = { ...containers.env };
  } else {
    env = { ...process.env, SQS_QUEUE_URL: undefined, SQS_DLQ_URL: undefined };
  }

  let backend: Backend;
  let config: CommonConfig;
  const wantApi = options.api ?? true;
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  try {
    config = loadConfig(CommonEnvSchema, {
      ...env,
      SQS_QUEUE_NAME: `e2e-jobs-${suffix}`,
      SQS_DLQ_NAME: `e2e-dlq-${suffix}`,
      ...(options.ownBucket ? { S3_BUCKET: `pe-test-${suffix}` } : {}),
      MAX_RECEIVE_COUNT: String(options.maxReceiveCount ?? 3),
      VISIBILITY_TIMEOUT: '10',
      BOOTSTRAP_RESOURCES: 'true',
      LOG_LEVEL: 'silent',
    });
    // Said before connecting, so a backend that cannot be reached is named in the output.
    console.info(describeBackend(decision, config, images));
    backend = await connectBackend(config);
    api = wantApi ? await startApi(backend, config, options.apiEnv ?? {}, 0, options.apiLogger) : undefined;
    // The page at the API's origin PUTs to presigned URLs: the embedded backend answers CORS for it only.
    if (api) embedded?.allowOrigins([api.url]);
  } catch (err) {
    // Containers outlive the process's test file otherwise (until the reaper notices).
    await containers?.stop().catch(() => undefined);
    throw err;
  }
  const workers = new Set<WorkerHandle>();
  const extraApis: ServerType[] = [];

  const stack: Stack = {
    mode,
    config,
    get backend() {
      return backend;
    },
    get apiUrl() {
      return api?.url ?? '';
    },
    async startWorker(workerOptions) {
      const outcomes: string[] = [];
      const storage = workerOptions.wrapStorage ? workerOptions.wrapStorage(backend.storage) : backend.storage;
      const worker = createWorker({
        storage,
        queue: backend.queue,
        engine: workerOptions.engine,
        config: { workerId: `e2e-${newId().slice(0, 8)}`, ...TEST_TIMINGS, ...workerOptions.timings },
        logger: log,
        onJobDone: (outcome) => outcomes.push(outcome),
      });
      await worker.start();
      const handle: WorkerHandle = {
        worker,
        outcomes,
        async stop(stopOptions) {
          workers.delete(handle);
          await worker.stop(stopOptions);
        },
        async kill() {
          workers.delete(handle);
          await worker.kill();
        },
      };
      workers.add(handle);
      return handle;
    },
    async addApi(apiEnv = {}) {
      const extra = await startApi(backend, config, { ...options.apiEnv, ...apiEnv });
      extraApis.push(extra.server);
      return extra.url;
    },
    async restart() {
      if (!embedded || !dataDir) throw new Error('restart() needs the embedded backend');
      const port = embedded.port;
      const apiPort = api ? Number(new URL(api.url).port) : 0;
      await Promise.all([...workers].map((w) => w.stop({ graceMs: 0 })));
      if (api) await closeServer(api.server);
      backend.close();
      await embedded.stop();
      embedded = await startEmbeddedBackend({ dataDir, port });
      backend = await connectBackend(config);
      api = wantApi ? await startApi(backend, config, options.apiEnv ?? {}, apiPort, options.apiLogger) : undefined;
      if (api) embedded.allowOrigins([api.url]);
    },
    async stop() {
      await Promise.all([...workers].map((w) => w.stop({ graceMs: 0 })));
      await Promise.all(extraApis.map(closeServer));
      if (api) await closeServer(api.server);
      backend.close();
      await embedded?.stop();
      await containers?.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}
