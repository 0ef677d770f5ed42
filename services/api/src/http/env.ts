import type { JobQueue, Storage } from '@photoenhance/core';
import type { Logger } from 'pino';
import type { ApiConfig } from '../config.ts';
import type { ApiMetrics } from '../metrics.ts';

/** Per-request values set by the app's middleware. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
  };
}

export interface AppDeps {
  storage: Storage;
  queue: JobQueue;
  config: ApiConfig;
  logger: Logger;
  metrics?: ApiMetrics;
}
