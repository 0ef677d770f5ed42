/**
 * `npm start`: the whole service on one machine with nothing installed — the embedded S3 + SQS backend
 * (fauxqs, persisted under DATA_DIR, default .data/), the API on PORT (default 8000) and one worker, all in
 * this process so Ctrl-C stops them in order: worker (finishes or releases its job), API, backend.
 * With S3_ENDPOINT / SQS_ENDPOINT set, no embedded backend starts and both run against those endpoints.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type ApiConfig,
  createLogger,
  loadApiConfig,
  pageOrigins,
  type RunningApi,
  startApiServer,
} from '@photoenhance/api';
import {
  createInProcessTaskChannel,
  DEFAULT_EMBEDDED_PORT,
  type EmbeddedBackend,
  embeddedEnv,
  startEmbeddedBackend,
} from '@photoenhance/core';
import { loadWorkerConfig, startWorkerService, type WorkerConfig, type WorkerService } from '@photoenhance/gpu-worker';

function refuse(err: unknown): never {
  process.stderr.write(`PhotoEnhance refused to start. ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}

/**
 * Webhooks are always signed: without CALLBACK_SECRET, `npm start` makes one, kept in {DATA_DIR}/callback-secret
 * (mode 0600) so receivers can be configured with it once; it is never printed or logged.
 */
async function callbackSecret(dataDir: string): Promise<{ secret: string; file: string }> {
  const file = resolve(dataDir, 'callback-secret');
  try {
    const kept = (await readFile(file, 'utf8')).trim();
    if (kept.length >= 16) return { secret: kept, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(24).toString('hex');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return { secret, file };
}

const env = process.env;
const external = Boolean(env.S3_ENDPOINT || env.SQS_ENDPOINT || env.SQS_QUEUE_URL);
let apiConfig: ApiConfig;
let workerConfig: WorkerConfig;
try {
  // Validate both processes' variables before anything starts, so every bad variable is named at once.
  apiConfig = loadApiConfig({ ...env, EMBEDDED_BACKEND: 'false' });
  // The worker's health port follows HOST (loopback by default) unless WORKER_HOST says otherwise.
  workerConfig = loadWorkerConfig({
    WORKER_ID: 'embedded-worker-1',
    ...(env.HOST ? { WORKER_HOST: env.HOST } : {}),
    ...env,
  });
} catch (err) {
  refuse(err);
}

const logger = createLogger(apiConfig.LOG_LEVEL, apiConfig.LOG_REF_SECRET);
// API and worker share this process: the worker's record writes reach the event streams as plain calls, so a
// watched task costs one storage read per change (docs/design.md §7).
const taskChanges = createInProcessTaskChannel();
let embedded: EmbeddedBackend | undefined;
let api: RunningApi | undefined;
let worker: WorkerService | undefined;
let stopping: Promise<void> | undefined;

async function stopAll(): Promise<void> {
  // The embedded queue stops with us, so an idle long poll need not be waited for.
  await worker?.stop({ abortReceive: !external }).catch((err: unknown) => logger.error({ err }, 'worker stop failed'));
  await api?.stop().catch((err: unknown) => logger.error({ err }, 'API stop failed'));
  await embedded?.stop().catch((err: unknown) => logger.error({ err }, 'embedded backend stop failed'));
}

function onSignal(signal: string): void {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting without waiting');
    process.exit(1);
  }
  logger.info({ signal }, 'stopping PhotoEnhance (Ctrl-C again to force)');
  stopping = stopAll().then(() => process.exit(0));
}
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

try {
  if (!external) {
    embedded = await startEmbeddedBackend({
      dataDir: apiConfig.DATA_DIR,
      port: DEFAULT_EMBEDDED_PORT,
      region: apiConfig.S3_REGION,
      sweepBucket: apiConfig.S3_BUCKET,
      logger,
    });
    // Endpoints and the backend's own credentials: it refuses anything not signed with them.
    const endpoints = embeddedEnv(embedded);
    apiConfig = { ...apiConfig, ...endpoints };
    workerConfig = { ...workerConfig, ...endpoints };
    logger.info({ endpoint: embedded.s3Endpoint, dataDir: apiConfig.DATA_DIR }, 'embedded S3 + SQS backend started');
  }
  // The in-process worker registers with this API (unless told otherwise), so GET /api/v1/models — the web
  // app's model pickers — lists what it has installed. The secret never leaves this process.
  const selfRegister = !workerConfig.REGISTER_URL && !workerConfig.GATEWAY_URL;
  const secret = apiConfig.WORKER_REGISTRATION_SECRET ?? randomBytes(24).toString('hex');
  if (selfRegister) apiConfig = { ...apiConfig, WORKER_REGISTRATION_SECRET: secret };
  api = await startApiServer(apiConfig, logger, { taskChanges });
  if (stopping) await stopping;
  // The page PUTs big files straight to storage: the embedded backend answers CORS for the API's origins only.
  embedded?.allowOrigins(pageOrigins(apiConfig, api.port));
  if (!workerConfig.CALLBACK_SECRET) {
    const made = await callbackSecret(apiConfig.DATA_DIR);
    workerConfig = { ...workerConfig, CALLBACK_SECRET: made.secret };
    logger.info(
      { file: made.file },
      'webhooks are signed with the secret kept in this file (set CALLBACK_SECRET to choose one)',
    );
  }
  if (selfRegister) {
    workerConfig = {
      ...workerConfig,
      REGISTER_URL: `http://127.0.0.1:${api.port}`,
      WORKER_REGISTRATION_SECRET: secret,
      // Same machine: no public address to discover (IMDS and IP look-ups would only time out offline).
      ADDRESS_DISCOVERY: env.ADDRESS_DISCOVERY ? workerConfig.ADDRESS_DISCOVERY : [],
    };
  }
  worker = await startWorkerService({ config: workerConfig, taskChanges });
  if (stopping) await stopping;
} catch (err) {
  logger.fatal({ err }, 'PhotoEnhance failed to start');
  await stopAll();
  process.exit(1);
}

const publicUrl = apiConfig.PUBLIC_BASE_URL ?? `http://localhost:${api.port}`;
process.stdout.write(
  [
    '',
    'PhotoEnhance is running',
    // The web app first: that is where a person goes; the rest is for programs and operators.
    `  Web app   ${publicUrl}/   (open it in a browser)`,
    `  API docs  ${publicUrl}/docs`,
    `  API       ${publicUrl}/api/v1   (OpenAPI: ${publicUrl}/openapi.json)`,
    `  Health    ${publicUrl}/health   (ready: ${publicUrl}/ready)`,
    `  Worker    http://localhost:${worker.port}/health   (ready: /ready, metrics: /metrics)`,
    `  Storage   ${external ? `external: ${apiConfig.S3_ENDPOINT ?? 'AWS'}` : `embedded, persisted in ${apiConfig.DATA_DIR}/`}`,
    '  Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
