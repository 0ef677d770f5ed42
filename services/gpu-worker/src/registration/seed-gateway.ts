import { setTimeout as sleep } from 'node:timers/promises';
import { type SeedGatewayRegistration, SeedGatewayRegistrationSchema } from '@photoenhance/contracts';
import type { WorkerLogger } from '../ports.ts';
import type { DiscoveredAddress } from './address-discovery.ts';
import type { Registrar } from './registrar.ts';

export interface SeedGatewayOptions {
  /** GATEWAY_URL: the gateway's register endpoint (PhotoEnhanceAI's WEBHOOK_URL). */
  url: string;
  /** GATEWAY_SECRET: sent in the body, in clear, as that gateway expects. Never logged. */
  secret: string;
  /** The port the gateway sends clients to: the API's (PhotoEnhanceAI's API_PORT), not the worker's. */
  announcePort: number;
  /** This machine's address (PUBLIC_URL or discovery); only its host is announced. */
  address: () => Promise<DiscoveredAddress | undefined>;
  logger: WorkerLogger;
  timeoutMs?: number;
  initialRetryMs?: number;
  maxRetryMs?: number;
  fetch?: typeof fetch;
  onResult?: (ok: boolean) => void;
}

/** Origin and path only: a gateway URL may carry a token in its query string. */
function safeUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** The host of a discovered URL as the gateway wants it: a bare IP or name, IPv6 without brackets. */
export function announcedHost(url: string): string {
  return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Registration with a gateway built for PhotoEnhanceAI (opt-in, GATEWAY_PROTOCOL=photoenhanceai): one POST of
 * {"ip", "port", "secret"} as JSON, retried with back-off until the gateway answers 2xx, as its register
 * script does once at start. That protocol has no heartbeat or deregistration, and no signature: the
 * secret itself travels in the body, which is why the URL must be HTTPS unless GATEWAY_ALLOW_HTTP says
 * otherwise (checked by the config) and why starting it logs a warning.
 */
export function createSeedGatewayRegistrar(options: SeedGatewayOptions): Registrar {
  const { logger } = options;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const initialRetryMs = options.initialRetryMs ?? 1000;
  const maxRetryMs = options.maxRetryMs ?? 60_000;
  const stopping = new AbortController();
  let registered = false;
  let loop: Promise<void> | undefined;

  async function register(): Promise<boolean> {
    const found = await options.address();
    if (!found) {
      logger.warn({ target: 'gateway' }, 'no address to announce to the PhotoEnhanceAI gateway (set PUBLIC_URL)');
      return false;
    }
    const body: SeedGatewayRegistration = SeedGatewayRegistrationSchema.parse({
      ip: announcedHost(found.url),
      port: options.announcePort,
      secret: options.secret,
    });
    try {
      const res = await doFetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await res.body?.cancel().catch(() => undefined);
      options.onResult?.(res.ok);
      if (!res.ok) {
        logger.warn(
          { target: 'gateway', url: safeUrl(options.url), status: res.status },
          'gateway registration refused',
        );
      }
      return res.ok;
    } catch (err) {
      options.onResult?.(false);
      if (!stopping.signal.aborted) {
        logger.warn(
          { target: 'gateway', url: safeUrl(options.url), err: err instanceof Error ? err.message : String(err) },
          'gateway registration failed',
        );
      }
      return false;
    }
  }

  async function run(): Promise<void> {
    let retry = initialRetryMs;
    while (!stopping.signal.aborted) {
      if (await register()) {
        registered = true;
        logger.info({ target: 'gateway', url: safeUrl(options.url) }, 'registered with the PhotoEnhanceAI gateway');
        return;
      }
      await sleep(retry * (0.8 + Math.random() * 0.4), undefined, { signal: stopping.signal }).catch(() => undefined);
      retry = Math.min(maxRetryMs, retry * 2);
    }
  }

  return {
    start() {
      if (loop || stopping.signal.aborted) return;
      logger.warn(
        { target: 'gateway', url: safeUrl(options.url) },
        'GATEWAY_PROTOCOL=photoenhanceai: the gateway secret is sent in clear in the request body (no signature, no heartbeat); use it only with a gateway built for PhotoEnhanceAI, over HTTPS',
      );
      loop = run();
    },
    async stop() {
      stopping.abort();
      await loop;
    },
    registeredWith: () => (registered ? ['gateway'] : []),
  };
}
