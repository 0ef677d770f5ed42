import { getConnInfo } from '@hono/node-server/conninfo';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { Context, MiddlewareHandler } from 'hono';
import { rateLimiter, type Store } from 'hono-rate-limiter';
import { presentedKey } from '../auth/api-keys.ts';
import type { TenantDirectory } from '../auth/tenants.ts';
import type { AppEnv } from './env.ts';

const WINDOW_MS = 60_000;

/** The socket's peer address (X-Forwarded-For is not trusted: any client can write it). */
export function clientAddress(c: Context<AppEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // app.request() in tests has no socket
  }
}

/**
 * RATE_LIMIT_PER_MINUTE per API key (its owner id, never the key), or per client address for callers without a
 * valid key, with hono-rate-limiter's fixed one-minute window. Over it: 429 RATE_LIMITED with Retry-After and the
 * IETF draft-6 RateLimit-Policy / RateLimit-Limit / -Remaining / -Reset headers (on every answer, not only the 429).
 * The default store is in-process, so with N API instances a client gets up to N × the limit; a larger
 * deployment passes a shared `store` (hono-rate-limiter's Redis/unstorage stores) and puts a WAF rate rule in
 * front for per-address floods.
 */
export function rateLimit(
  tenants: TenantDirectory,
  limit: number,
  options: { skip?: (c: Context<AppEnv>) => boolean; store?: Store<AppEnv> } = {},
): MiddlewareHandler<AppEnv> {
  if (limit <= 0) return async (_c, next) => next();
  return rateLimiter<AppEnv>({
    windowMs: WINDOW_MS,
    limit,
    standardHeaders: 'draft-6',
    keyGenerator: (c) => tenants.resolve(presentedKey(c))?.owner ?? `ip:${clientAddress(c)}`,
    skip: (c) => c.req.method === 'OPTIONS' || (options.skip?.(c) ?? false),
    ...(options.store ? { store: options.store } : {}),
    handler: () => {
      // The error handler answers it like every other error; the limiter already set Retry-After and RateLimit-*.
      throw new PhotoEnhanceError(
        'RATE_LIMITED',
        `Too many requests: RATE_LIMIT_PER_MINUTE allows ${limit} per minute for this API key; retry after the time in Retry-After`,
        { details: { limit: 'RATE_LIMIT_PER_MINUTE', max: limit, window_seconds: WINDOW_MS / 1000 } },
      );
    },
  });
}
