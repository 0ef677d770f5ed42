import { type ServerType, serve } from '@hono/node-server';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import {
  connectBackend,
  type EmbeddedBackend,
  embeddedEnv,
  startEmbeddedBackend,
  startRetentionSweeper,
  type TaskChangeChannel,
} from '@photoenhance/core';
import type { Logger } from 'pino';
import { createApp } from './app.ts';
import { type ApiConfig, loadApiConfig, pageOrigins, resolveDownloadMode } from './config.ts';
import { createLogger } from './logger.ts';
import { createApiMetrics } from './metrics.ts';
import { startConfiguredTaskChannel } from './progress/task-change-channel.ts';
import { retentionMs } from './tasks/access.ts';

export interface RunningApi {
  url: string;
  port: number;
  /** Stops accepting connections, then closes clients (and the embedded backend when it owns one). */
  stop(): Promise<void>;
}

/**
 * Connects to S3/SQS from config (bootstrapping resources when enabled), optionally starting the embedded
 * backend first, and serves the app. Used by `npm run start:api` and by the one-command launcher.
 */
export interface StartApiOptions {
  /**
   * Change notices from workers in the same process (the one-command launcher). Without it, the instance starts
   * the AWS channel itself when TASK_CHANGES_TOPIC_ARN is set (and removes its queue in stop()).
   */
  taskChanges?: TaskChangeChannel;
}

export async function startApiServer(
  config: ApiConfig,
  logger: Logger = createLogger(config.LOG_LEVEL, config.LOG_REF_SECRET),
  options: StartApiOptions = {},
): Promise<RunningApi> {
  let embedded: EmbeddedBackend | undefined;
  let effective = config;
  if (config.EMBEDDED_BACKEND) {
    embedded = await startEmbeddedBackend({
      dataDir: config.DATA_DIR,
      region: config.S3_REGION,
      sweepBucket: config.S3_BUCKET,
      logger,
    });
    effective = { ...config, ...embeddedEnv(embedded) };
    logger.info({ endpoint: embedded.s3Endpoint, dataDir: config.DATA_DIR }, 'embedded S3 + SQS backend started');
  }
  const bound = {
    connectionTimeoutMs: config.BACKEND_TIMEOUT_MS,
    idleTimeoutMs: config.BACKEND_TIMEOUT_MS,
    maxAttempts: 1,
  };
  const backend = await connectBackend(effective, { s3: bound, sqs: bound });
  const metrics = createApiMetrics();
  // RETENTION_HOURS on every backend (not only the embedded one): see retention-sweeper.ts.
  const sweeper = startRetentionSweeper(backend.storage, {
    retentionMs: retentionMs(config.RETENTION_HOURS),
    intervalMs: config.RETENTION_SWEEP_INTERVAL_MS,
    logger,
  });
  const ownChannel = options.taskChanges ? undefined : await startConfiguredTaskChannel(effective, logger, metrics);
  const taskChanges = options.taskChanges ?? ownChannel;
  const app = createApp({
    storage: backend.storage,
    queue: backend.queue,
    config: effective,
    logger,
    metrics,
    ...(taskChanges ? { taskChanges } : {}),
  });

  const listening: Promise<ServerType> = new Promise((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: config.PORT,
        hostname: config.HOST,
        // Slow and idle clients: headers must arrive within HEADERS_TIMEOUT_MS, a whole request (a byte-per-second
        // upload) within REQUEST_TIMEOUT_MS, an idle keep-alive socket is closed after KEEP_ALIVE_TIMEOUT_MS.
        // Node checks the first two every connectionsCheckingInterval (30 s by default): check as often as needed.
        serverOptions: {
          headersTimeout: config.HEADERS_TIMEOUT_MS,
          requestTimeout: config.REQUEST_TIMEOUT_MS,
          keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
          connectionsCheckingInterval: Math.min(1000, config.HEADERS_TIMEOUT_MS),
        },
      },
      () => resolve(s),
    );
    s.once('error', (err) =>
      reject(
        new PhotoEnhanceError('INTERNAL', `API cannot listen on ${config.HOST}:${config.PORT}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
  });
  let server: ServerType;
  try {
    server = await listening;
  } catch (error) {
    // The progress queue this instance created goes with it, as on a normal stop.
    await ownChannel?.stop();
    sweeper.stop();
    backend.close();
    await embedded?.stop();
    throw error;
  }
  // Requests Node refuses before the app sees them (oversized headers, malformed HTTP, timeouts) still get the
  // JSON error shape every other answer has, not a bare status line.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (err.code === 'ECONNRESET' && !socket.bytesWritten)) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'INVALID_INPUT', 'Request headers are too large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'INVALID_INPUT', 'Request took too long to arrive']
          : [400, 'INVALID_INPUT', 'Malformed HTTP request'];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  // The page PUTs big files straight to the embedded backend, which answers CORS for this API's origins only.
  embedded?.allowOrigins(pageOrigins(config, port));
  logger.info(
    { url, bucket: effective.S3_BUCKET, queue: backend.queue.queueUrl, downloadMode: resolveDownloadMode(effective) },
    'API listening',
  );

  return {
    url,
    port,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Unsubscribes and deletes this instance's progress queue (a crashed one is swept by the next start).
      await ownChannel?.stop();
      sweeper.stop();
      backend.close();
      await embedded?.stop();
    },
  };
}

async function main(): Promise<void> {
  let config: ApiConfig;
  try {
    config = loadApiConfig(process.env);
  } catch (err) {
    // Refuse to start, naming each bad variable.
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.LOG_LEVEL, config.LOG_REF_SECRET);
  const api = await startApiServer(config, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    api.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

if (import.meta.main) {
  main().catch((err) => {
    process.stderr.write(`API failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
