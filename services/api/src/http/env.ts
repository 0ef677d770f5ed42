import type { JobQueue, Records, Storage, TaskChangeChannel } from '@photoenhance/core';
import type { Logger } from 'pino';
import type { StreamTokens } from '../auth/stream-tokens.ts';
import type { Tenant, TenantDirectory } from '../auth/tenants.ts';
import type { ApiConfig } from '../config.ts';
import type { ApiMetrics } from '../metrics.ts';
import type { TaskWatchHub } from '../progress/task-watch-hub.ts';
import type { TaskAccess } from '../tasks/access.ts';
import type { TaskSubmitter } from '../tasks/submit.ts';
import type { Semaphore } from './semaphore.ts';
import type { TaskStateCache } from './task-state-cache.ts';

/** Per-request values set by the app's middleware. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    /** The caller (set by the key middleware on /api/v1/*). */
    tenant: Tenant;
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
  /**
   * Change notices from the workers (the embedded launcher shares an in-process channel with its worker). Without
   * one, event streams poll storage every SSE_POLL_MS — one read per task per poll, shared by its viewers.
   */
  taskChanges?: TaskChangeChannel;
  /** The event streams' read loops; createApp makes one when absent. */
  taskWatch?: TaskWatchHub;
  /** Stream tokens (`?token=` on event streams); createApp makes them from the config when absent (tests inject a clock). */
  streamTokens?: StreamTokens;
}

/** What the routes get: AppDeps with the derived parts filled in by createApp. */
export interface RouteDeps extends AppDeps {
  records: Records;
  taskStates: TaskStateCache;
  tenants: TenantDirectory;
  /** Owner and retention checks for every read of a task, batch or pending upload. */
  access: TaskAccess;
  /** The one way tasks are created (owner, quota, input → message → record, undo). */
  submitter: TaskSubmitter;
  taskWatch: TaskWatchHub;
  streamTokens: StreamTokens;
  /** Stored objects read back whole or streamed for checks at once (MAX_CONCURRENT_VERIFICATIONS). */
  verifications: Semaphore;
}
