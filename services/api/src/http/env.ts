import type { JobQueue, Records, Storage } from '@photoenhance/core';
import type { Logger } from 'pino';
import type { ApiConfig } from '../config.ts';
import type { ApiMetrics } from '../metrics.ts';
import type { TaskStateCache } from './task-state-cache.ts';

/** Per-request values set by the app's middleware. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    /** The caller's owner id (digest of its API key); unset when the service runs without keys. */
    owner?: string;
  };
}

export interface AppDeps {
  storage: Storage;
  queue: JobQueue;
  config: ApiConfig;
  logger: Logger;
  metrics?: ApiMetrics;
  /** Record repositories over `storage`; createApp makes them when absent. */
  records?: Records;
  /** Shared by the status and event routes; createApp makes one from STATUS_CACHE_MS when absent. */
  taskStates?: TaskStateCache;
}

/** What the routes get: AppDeps with the derived parts filled in by createApp. */
export interface RouteDeps extends AppDeps {
  records: Records;
  taskStates: TaskStateCache;
}
