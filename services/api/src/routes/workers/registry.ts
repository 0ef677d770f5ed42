import type { WorkerAnnouncement, WorkerRecord } from '@photoenhance/contracts';
import type { WorkerRepository } from '@photoenhance/core';
import type { WorkerSummary } from './schemas.ts';

export interface WorkerRegistryOptions {
  workers: WorkerRepository;
  staleAfterMs: number;
  /** Stale records older than this are removed when the list is read. */
  forgetAfterMs: number;
  now?: () => Date;
}

export interface WorkerListing {
  workers: WorkerSummary[];
  counts: { alive: number; stale: number };
}

/** How many records are read at once when listing (S3 GETs). */
const READ_CONCURRENCY = 16;

/**
 * Registered workers, one object per worker at workers/{workerId}.json (design.md §3). Only the API writes
 * them, and only after the request's signature was verified.
 */
export function createWorkerRegistry(options: WorkerRegistryOptions) {
  const { workers: repository, staleAfterMs, forgetAfterMs } = options;
  const now = options.now ?? (() => new Date());

  const read = (workerId: string) => repository.read(workerId);

  function summarize(record: WorkerRecord, at: Date): WorkerSummary {
    const sinceMs = at.getTime() - Date.parse(record.lastSeenAt);
    const alive = !record.deregisteredAt && sinceMs <= staleAfterMs;
    const summary: WorkerSummary = {
      worker_id: record.workerId,
      status: alive ? 'alive' : 'stale',
      version: record.version,
      providers: record.providers,
      gpu: record.gpu,
      models: record.models,
      catalog: record.catalog,
      capacity: record.capacity,
      state: record.state,
      current_task: record.currentTask,
      jobs: record.jobs,
      started_at: record.startedAt,
      registered_at: record.registeredAt,
      last_seen_at: record.lastSeenAt,
      seconds_since_seen: Math.max(0, Math.round(sinceMs / 1000)),
    };
    if (record.url) summary.url = record.url;
    if (record.addressSource) summary.address_source = record.addressSource;
    if (record.activeProvider) summary.active_provider = record.activeProvider;
    if (record.deregisteredAt) summary.deregistered_at = record.deregisteredAt;
    return summary;
  }

  return {
    /** Applies a verified announcement; returns the stored record. */
    async apply(announcement: WorkerAnnouncement): Promise<WorkerRecord> {
      const { worker, event } = announcement;
      const at = now().toISOString();
      const existing = await read(worker.workerId);
      // A heartbeat from a worker the registry does not know (API data lost, or it registered elsewhere)
      // carries the full description, so it registers it.
      const registeredAt = event === 'register' || !existing ? at : existing.registeredAt;
      return repository.write({
        ...worker,
        registeredAt,
        lastSeenAt: at,
        ...(event === 'deregister' ? { deregisteredAt: at, state: 'stopping' as const } : {}),
      });
    },

    async list(): Promise<WorkerListing> {
      const at = now();
      const ids = await repository.listIds();
      const records: WorkerRecord[] = [];
      for (let i = 0; i < ids.length; i += READ_CONCURRENCY) {
        const batch = await Promise.all(ids.slice(i, i + READ_CONCURRENCY).map((id) => read(id).catch(() => null)));
        for (const r of batch) if (r) records.push(r);
      }
      const workers: WorkerSummary[] = [];
      for (const record of records) {
        if (at.getTime() - Date.parse(record.lastSeenAt) > forgetAfterMs) {
          await repository.delete(record.workerId).catch(() => undefined);
          continue;
        }
        workers.push(summarize(record, at));
      }
      workers.sort((a, b) => a.worker_id.localeCompare(b.worker_id));
      const alive = workers.filter((w) => w.status === 'alive').length;
      return { workers, counts: { alive, stale: workers.length - alive } };
    },
  };
}

export type WorkerRegistry = ReturnType<typeof createWorkerRegistry>;
