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
import { createSeedGatewayRegistrar } from './seed-gateway.ts';

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

/** Several registrars started and stopped as one. */
function allOf(registrars: Registrar[]): Registrar | undefined {
  if (registrars.length <= 1) return registrars[0];
  return {
    start: () => {
      for (const r of registrars) r.start();
    },
    stop: async (timeoutMs) => {
      await Promise.allSettled(registrars.map((r) => r.stop(timeoutMs)));
    },
    registeredWith: () => registrars.flatMap((r) => r.registeredWith()),
  };
}

/**
 * The registrar for this worker process, or undefined when neither REGISTER_URL nor GATEWAY_URL is set. The
 * address and GPUs are looked up once, on the first announcement; state, current task and job counts are read
 * fresh for every heartbeat. GATEWAY_PROTOCOL=photoenhanceai sends the gateway PhotoEnhanceAI's unsigned
 * {"ip", "port", "secret"} instead (seed-gateway.ts); REGISTER_URL always gets the signed announcements.
 */
export function createWorkerRegistration(deps: RegistrationDeps): Registrar | undefined {
  const { config, worker, engine, logger, metrics } = deps;
  const seedGateway = config.GATEWAY_PROTOCOL === 'photoenhanceai';
  const targets = registrationTargets({
    registerUrl: config.REGISTER_URL,
    gatewayUrl: seedGateway ? undefined : config.GATEWAY_URL,
  });
  const secret = config.WORKER_REGISTRATION_SECRET;
  const startedAt = new Date().toISOString();
  let address: Promise<DiscoveredAddress | undefined> | undefined;
  let gpus: ReturnType<typeof probeGpus> | undefined;
  let catalog: ReturnType<typeof modelCatalog> | undefined;

  function lookUpAddress(): Promise<DiscoveredAddress | undefined> {
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
    return address;
  }

  async function describe(): Promise<WorkerInfoInput> {
    gpus ??= probeGpus();
    const [found, gpu] = await Promise.all([lookUpAddress(), gpus]);
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

  const registrars: Registrar[] = [];
  if (targets.length > 0 && secret) {
    registrars.push(
      createRegistrar({
        targets,
        secret,
        describe,
        heartbeatMs: config.REGISTRATION_HEARTBEAT_MS,
        logger,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
        onResult: (target, event, ok) => metrics.announcements.inc({ target, event, outcome: ok ? 'ok' : 'failed' }),
      }),
    );
  }
  if (seedGateway && config.GATEWAY_URL && config.GATEWAY_SECRET) {
    registrars.push(
      createSeedGatewayRegistrar({
        url: config.GATEWAY_URL,
        secret: config.GATEWAY_SECRET,
        announcePort: config.GATEWAY_ANNOUNCE_PORT,
        address: lookUpAddress,
        logger,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
        onResult: (ok) =>
          metrics.announcements.inc({ target: 'gateway', event: 'register', outcome: ok ? 'ok' : 'failed' }),
      }),
    );
  }
  return allOf(registrars);
}
