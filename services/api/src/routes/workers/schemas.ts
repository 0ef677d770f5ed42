import { WORKER_STATES, WorkerModelSchema } from '@photoenhance/contracts';
import { z } from 'zod';

export const WORKER_LIST_STATUSES = ['alive', 'stale'] as const;

/** One registered worker as GET /api/v1/workers shows it. */
export const WorkerSummarySchema = z.object({
  worker_id: z.string(),
  /** alive: heartbeat within WORKER_STALE_AFTER_SECONDS and not deregistered; stale otherwise. */
  status: z.enum(WORKER_LIST_STATUSES),
  url: z.string().optional(),
  address_source: z.string().optional(),
  version: z.string(),
  providers: z.array(z.string()),
  active_provider: z.string().optional(),
  gpu: z.array(z.object({ name: z.string(), memoryMiB: z.number().optional() })),
  models: z.array(z.string()),
  catalog: z.array(WorkerModelSchema),
  capacity: z.number().int(),
  state: z.enum(WORKER_STATES),
  current_task: z.string().nullable(),
  jobs: z.record(z.string(), z.number()),
  started_at: z.string(),
  registered_at: z.string(),
  last_seen_at: z.string(),
  seconds_since_seen: z.number(),
  deregistered_at: z.string().optional(),
});
export type WorkerSummary = z.infer<typeof WorkerSummarySchema>;

export const WorkerListResponseSchema = z.object({
  workers: z.array(WorkerSummarySchema),
  counts: z.object({ alive: z.number().int(), stale: z.number().int() }),
  stale_after_seconds: z.number().int(),
});
export type WorkerListResponse = z.infer<typeof WorkerListResponseSchema>;

/** Answer to a signed register/heartbeat/deregister. */
export const WorkerAckSchema = z.object({
  worker_id: z.string(),
  event: z.enum(['register', 'heartbeat', 'deregister']),
  status: z.enum(['registered', 'alive', 'deregistered']),
  /** The worker is listed as stale after this long without a heartbeat. */
  stale_after_seconds: z.number().int(),
});
export type WorkerAck = z.infer<typeof WorkerAckSchema>;

/** One model as GET /api/v1/models lists it: merged over the alive workers that report it. */
export const ModelSummarySchema = WorkerModelSchema.extend({
  /** Alive workers that have this model installed. */
  workers_ready: z.number().int(),
});
export type ModelSummary = z.infer<typeof ModelSummarySchema>;

export const ModelListResponseSchema = z.object({
  models: z.array(ModelSummarySchema),
  /** Alive workers the list was built from; 0 means nothing is known yet (no worker registered). */
  workers_alive: z.number().int(),
});
export type ModelListResponse = z.infer<typeof ModelListResponseSchema>;
