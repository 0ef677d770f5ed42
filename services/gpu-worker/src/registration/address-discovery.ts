import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { WorkerInfo } from '@photoenhance/contracts';
import type { WorkerLogger } from '../ports.ts';

export const DISCOVERY_METHODS = ['imds', 'ip-lookup', 'interface'] as const;
export type DiscoveryMethod = (typeof DISCOVERY_METHODS)[number];

export interface AddressDiscoveryOptions {
  /** PUBLIC_URL: used as is, nothing is looked up. */
  publicUrl?: string | undefined;
  /** Methods tried in this order after the configured URL (an empty list turns discovery off). */
  methods: readonly DiscoveryMethod[];
  /** EC2 instance metadata base (IMDSv2), http://169.254.169.254 by default; tests point it at a local fake. */
  imdsUrl: string;
  /** Services answering with the caller's public IP (plain text or {"ip": …}). */
  ipLookupUrls: readonly string[];
  /** Port of the worker's health/metrics server, for URLs built from a bare address. */
  port: number;
  /** Per request. */
  timeoutMs: number;
  logger?: WorkerLogger;
  fetch?: typeof fetch;
}

export interface DiscoveredAddress {
  url: string;
  source: NonNullable<WorkerInfo['addressSource']>;
}

function urlFor(address: string, port: number): string {
  return isIP(address) === 6 ? `http://[${address}]:${port}` : `http://${address}:${port}`;
}

/** IMDSv2: a session token by PUT, then the instance's public IPv4 with that token. */
async function fromImds(options: AddressDiscoveryOptions, doFetch: typeof fetch): Promise<string | undefined> {
  const base = options.imdsUrl.replace(/\/+$/, '');
  const tokenRes = await doFetch(`${base}/latest/api/token`, {
    method: 'PUT',
    headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  if (!tokenRes.ok) return undefined;
  const token = (await tokenRes.text()).trim();
  const ipRes = await doFetch(`${base}/latest/meta-data/public-ipv4`, {
    headers: { 'x-aws-ec2-metadata-token': token },
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  // 404: the instance has no public address (private subnet); the next method decides.
  if (!ipRes.ok) return undefined;
  const ip = (await ipRes.text()).trim();
  return isIP(ip) ? ip : undefined;
}

async function fromLookupService(url: string, timeoutMs: number, doFetch: typeof fetch): Promise<string | undefined> {
  const res = await doFetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'text/plain, application/json' },
  });
  if (!res.ok) return undefined;
  const text = (await res.text()).trim().slice(0, 200);
  if (isIP(text)) return text;
  try {
    const ip = (JSON.parse(text) as { ip?: unknown }).ip;
    return typeof ip === 'string' && isIP(ip) ? ip : undefined;
  } catch {
    return undefined;
  }
}

/** First non-internal IPv4 of this machine (IPv6 when there is no IPv4). */
export function localInterfaceAddress(): string | undefined {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal);
  return (external.find((a) => a.family === 'IPv4') ?? external.find((a) => a.family === 'IPv6'))?.address;
}

/**
 * Where this worker can be reached, in order: PUBLIC_URL, EC2 instance metadata (IMDSv2), IP-lookup services,
 * the local interface. Each step has a timeout and a failure only moves on to the next; undefined when none
 * found anything (registration then goes ahead without a URL).
 */
export async function discoverAddress(options: AddressDiscoveryOptions): Promise<DiscoveredAddress | undefined> {
  if (options.publicUrl) return { url: options.publicUrl, source: 'config' };
  const doFetch = options.fetch ?? fetch;
  for (const method of options.methods) {
    try {
      if (method === 'imds') {
        const ip = await fromImds(options, doFetch);
        if (ip) return { url: urlFor(ip, options.port), source: 'imds' };
      } else if (method === 'ip-lookup') {
        for (const url of options.ipLookupUrls) {
          const ip = await fromLookupService(url, options.timeoutMs, doFetch).catch((err: unknown) => {
            options.logger?.debug({ url, err: String(err) }, 'IP lookup failed');
            return undefined;
          });
          if (ip) return { url: urlFor(ip, options.port), source: 'ip-lookup' };
        }
      } else {
        const ip = localInterfaceAddress();
        if (ip) return { url: urlFor(ip, options.port), source: 'interface' };
      }
    } catch (err) {
      options.logger?.debug({ method, err: String(err) }, 'address discovery step failed');
    }
  }
  return undefined;
}
