import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type WorkerAnnouncementInput,
  type WorkerEvent,
  type WorkerInfoInput,
  WorkerInfoSchema,
} from '@photoenhance/contracts';
import { signatureHeaders } from '@photoenhance/core';
import type { WorkerLogger } from '../ports.ts';

/** Somewhere the worker announces itself: the API (one route per event) or a gateway (one URL for all). */
export interface RegistrationTarget {
  name: string;
  urlFor(event: WorkerEvent): string;
}

/** REGISTER_URL is the API's base URL; GATEWAY_URL is a single endpoint taking every event. */
export function registrationTargets(config: { registerUrl?: string | undefined; gatewayUrl?: string | undefined }) {
  const targets: RegistrationTarget[] = [];
  if (config.registerUrl) {
    const base = config.registerUrl.replace(/\/+$/, '');
    targets.push({ name: 'api', urlFor: (event) => `${base}/api/v1/workers/${event}` });
  }
  if (config.gatewayUrl) {
    const url = config.gatewayUrl;
    targets.push({ name: 'gateway', urlFor: () => url });
  }
  return targets;
}

export interface RegistrarOptions {
  targets: RegistrationTarget[];
  /** WORKER_REGISTRATION_SECRET: signs every request; never logged or sent. */
  secret: string;
  /** The worker as it is now (state, current task…); called for every request. */
  describe: () => WorkerInfoInput | Promise<WorkerInfoInput>;
  heartbeatMs: number;
  /** Per request. */
  timeoutMs?: number;
  /** Back-off between failed attempts: doubles from initialRetryMs up to maxRetryMs, ±20 % jitter. */
  initialRetryMs?: number;
  maxRetryMs?: number;
  logger: WorkerLogger;
  fetch?: typeof fetch;
  onResult?: (target: string, event: WorkerEvent, ok: boolean) => void;
}

export interface Registrar {
  /** Starts registering (with retries) and heartbeating in the background; returns at once. */
  start(): void;
  /** Stops heartbeats and deregisters from every target that accepted a registration, within timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
  /** Targets that currently hold a successful registration. */
  registeredWith(): string[];
}

/** Origin and path only: a gateway URL may carry a token in its query string. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/**
 * Worker self-registration. Each target runs its own loop: register until accepted (back-off), then heartbeat
 * every heartbeatMs (a heartbeat carries the full description, so a registry that lost the worker re-learns
 * it). Nothing here throws into the worker: a registry being down never stops job processing.
 */
export function createRegistrar(options: RegistrarOptions): Registrar {
  const { targets, secret, logger } = options;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const initialRetryMs = options.initialRetryMs ?? 1000;
  const maxRetryMs = options.maxRetryMs ?? 60_000;
  const stopping = new AbortController();
  const registered = new Set<string>();
  const loops: Promise<void>[] = [];

  async function announce(target: RegistrationTarget, event: WorkerEvent, signal?: AbortSignal): Promise<boolean> {
    const url = target.urlFor(event);
    try {
      const announcement: WorkerAnnouncementInput = {
        event,
        nonce: randomUUID(),
        sentAt: new Date().toISOString(),
        worker: WorkerInfoSchema.parse(await options.describe()),
      };
      const body = JSON.stringify(announcement);
      const timeout = AbortSignal.timeout(timeoutMs);
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signatureHeaders(secret, body) },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      await res.body?.cancel().catch(() => undefined);
      options.onResult?.(target.name, event, res.ok);
      if (!res.ok) {
        // 401 usually means a different secret or clock skew beyond ±5 min on one side.
        logger.warn(
          { target: target.name, url: safeUrl(url), event, status: res.status },
          'worker announcement refused',
        );
      }
      return res.ok;
    } catch (err) {
      options.onResult?.(target.name, event, false);
      if (!stopping.signal.aborted || event === 'deregister') {
        logger.warn(
          { target: target.name, url: safeUrl(url), event, err: err instanceof Error ? err.message : String(err) },
          'worker announcement failed',
        );
      }
      return false;
    }
  }

  const pause = (ms: number) =>
    sleep(ms * (0.8 + Math.random() * 0.4), undefined, { signal: stopping.signal }).catch(() => undefined);

  async function run(target: RegistrationTarget): Promise<void> {
    let retry = initialRetryMs;
    while (!stopping.signal.aborted) {
      if (await announce(target, 'register', stopping.signal)) break;
      await pause(retry);
      retry = Math.min(maxRetryMs, retry * 2);
    }
    if (stopping.signal.aborted) return;
    registered.add(target.name);
    logger.info({ target: target.name, url: safeUrl(target.urlFor('register')) }, 'worker registered');
    retry = initialRetryMs;
    let failing = false;
    while (!stopping.signal.aborted) {
      await pause(failing ? Math.min(retry, options.heartbeatMs) : options.heartbeatMs);
      if (stopping.signal.aborted) break;
      const ok = await announce(target, 'heartbeat', stopping.signal);
      if (ok && failing) logger.info({ target: target.name }, 'heartbeat accepted again');
      retry = ok ? initialRetryMs : Math.min(maxRetryMs, retry * 2);
      failing = !ok;
    }
  }

  return {
    start() {
      if (loops.length > 0 || stopping.signal.aborted) return;
      for (const target of targets) loops.push(run(target));
    },
    async stop(stopTimeoutMs = 5000) {
      if (stopping.signal.aborted) return;
      stopping.abort();
      await Promise.allSettled(loops);
      const goodbyes = targets
        .filter((t) => registered.has(t.name))
        .map(async (t) => {
          const ok = await announce(t, 'deregister', AbortSignal.timeout(stopTimeoutMs));
          registered.delete(t.name);
          if (ok) logger.info({ target: t.name }, 'worker deregistered');
        });
      await Promise.allSettled(goodbyes);
    },
    registeredWith: () => [...registered],
  };
}
