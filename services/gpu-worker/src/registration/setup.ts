import { readFileSync } from 'node:fs';
import type { WorkerInfoInput } from '@photoenhance/contracts';
import { modelCatalog } from '@photoenhance/engine';
import type { WorkerConfig } from '../config.ts';
import type { WorkerMetrics } from '../metrics.ts';
import type { WorkerEngine, WorkerLogger } from '../ports.ts';
import type { Worker } from '../worker.ts';
import { type DiscoveredAddress, discoverAddress } from './address-discovery.ts';
import { probeGpus } from './gpu-info.ts';
import { createRegistrar, type Registrar, registrationTargets } from './registrar.ts';

const WORKER_VERSION = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

/** Jobs one worker runs at once: the consumer loop takes one message at a time. */
const CAPACITY = 1;

export interface RegistrationDeps {
  config: WorkerConfig;
  worker: Worker;
  engine: WorkerEngine;
  /** Bound port of the health/metrics server (WORKER_PORT may be 0). */
  port: number;
  logger: WorkerLogger;
  metrics: WorkerMetrics;
  fetch?: typeof fetch;
}

/**
 * The registrar for this worker process, or undefined when neither REGISTER_URL nor GATEWAY_URL is set. The
 * address and GPUs are looked up once, on the first announcement; state, current task and job counts are read
 * fresh for every heartbeat.
 */
export function createWorkerRegistration(deps: RegistrationDeps): Registrar | undefined {
  const { config, worker, engine, logger, metrics } = deps;
  const targets = registrationTargets({ registerUrl: config.REGISTER_URL, gatewayUrl: config.GATEWAY_URL });
  const secret = config.WORKER_REGISTRATION_SECRET;
  if (targets.length === 0 || !secret) return undefined;
  const startedAt = new Date().toISOString();
  let address: Promise<DiscoveredAddress | undefined> | undefined;
  let gpus: ReturnType<typeof probeGpus> | undefined;
  let catalog: ReturnType<typeof modelCatalog> | undefined;

  async function describe(): Promise<WorkerInfoInput> {
    address ??= discoverAddress({
      publicUrl: config.PUBLIC_URL,
      methods: config.ADDRESS_DISCOVERY,
      imdsUrl: config.IMDS_URL,
      ipLookupUrls: config.IP_LOOKUP_URLS,
      port: deps.port,
      timeoutMs: config.ADDRESS_DISCOVERY_TIMEOUT_MS,
      logger,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    }).then((found) => {
      logger.info({ url: found?.url ?? null, source: found?.source ?? null }, 'worker address discovered');
      return found;
    });
    gpus ??= probeGpus();
    const [found, gpu] = await Promise.all([address, gpus]);
    const readiness = engine.readiness?.();
    // Installed files do not change while the worker runs; a failed look-up is retried on the next heartbeat.
    catalog ??= modelCatalog(readiness?.provider ?? config.EXECUTION_PROVIDERS[0] ?? 'cpu').catch((err: unknown) => {
      logger.warn({ err }, 'model catalogue unavailable');
      catalog = undefined;
      return [];
    });
    const models = await catalog;
    const facts = worker.describe() as { jobs?: Record<string, number> };
    const activity = worker.activity();
    return {
      workerId: config.WORKER_ID,
      ...(found ? { url: found.url, addressSource: found.source } : {}),
      version: WORKER_VERSION,
      providers: config.EXECUTION_PROVIDERS,
      ...(readiness ? { activeProvider: readiness.provider } : {}),
      gpu,
      models: readiness
        ? Object.entries(readiness.models)
            .filter(([, s]) => s === 'ready')
            .map(([id]) => id)
        : [],
      catalog: models,
      capacity: CAPACITY,
      state: activity === 'stopped' ? 'stopping' : activity,
      currentTask: worker.currentTaskId(),
      jobs: facts.jobs ?? {},
      startedAt,
    };
  }

  return createRegistrar({
    targets,
    secret,
    describe,
    heartbeatMs: config.REGISTRATION_HEARTBEAT_MS,
    logger,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    onResult: (target, event, ok) => metrics.announcements.inc({ target, event, outcome: ok ? 'ok' : 'failed' }),
  });
}
