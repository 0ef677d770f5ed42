/**
 * `npm run start:worker`: one worker against the S3/SQS endpoints named by the environment. SIGTERM/SIGINT
 * stop receiving at once, finish (or release) the current job within WORKER_SHUTDOWN_GRACE_MS, exit 0.
 */
import { isPhotoEnhanceError } from '@photoenhance/contracts';
import { loadWorkerConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startWorkerService } from './service.ts';

let config: ReturnType<typeof loadWorkerConfig>;
try {
  config = loadWorkerConfig();
} catch (err) {
  console.error(`gpu-worker refused to start. ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

const logger = createLogger(config.LOG_LEVEL, { workerId: config.WORKER_ID }, config.LOG_REF_SECRET);
try {
  const service = await startWorkerService({ config, logger });
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down');
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  logger.fatal({ err }, isPhotoEnhanceError(err) ? `worker failed to start: ${err.message}` : 'worker failed to start');
  process.exit(1);
}
