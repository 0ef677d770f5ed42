import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiConfig } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { type StreamTokens, streamScopeOf } from './stream-tokens.ts';
import { ANONYMOUS, type Tenant, type TenantDirectory } from './tenants.ts';

/** Paths under /api/v1 that do not take client keys: worker routes use HMAC signatures or the admin key. */
const NOT_CLIENT_ROUTES = /^\/api\/v1\/workers(\/|$)/;

export function isWorkerRoute(path: string): boolean {
  return NOT_CLIENT_ROUTES.test(path);
}

type KeyConfig = Pick<ApiConfig, 'API_KEYS' | 'ADMIN_API_KEY'>;

/**
 * Event streams, where a browser's EventSource cannot send headers: `?token=` (a stream token, see
 * stream-tokens.ts) is the way; the key itself in `?api_key=` is the legacy form, kept for PhotoEnhanceAI's
 * stream page. Neither is ever logged (request lines carry the path without its query).
 */
const EVENT_STREAM = /\/events$/;

/** `Authorization: Bearer <key>` or `X-API-Key: <key>`; for GET event streams also `?api_key=<key>`. */
export function presentedKey(c: Context): string | undefined {
  const auth = c.req.header('authorization');
  const bearer = auth && /^Bearer\s+(.+)$/i.exec(auth.trim())?.[1];
  const fromQuery = c.req.method === 'GET' && EVENT_STREAM.test(c.req.path) ? c.req.query('api_key') : undefined;
  return bearer || c.req.header('x-api-key') || fromQuery || undefined;
}

function unauthorized(c: Context, message: string): PhotoEnhanceError {
  c.header('WWW-Authenticate', 'Bearer realm="photoenhance"');
  return new PhotoEnhanceError('UNAUTHORIZED', message);
}

/**
 * The tenant a `?token=` on a GET event stream stands for: the owner it was issued for, only on the stream it
 * was issued for (401 otherwise). Undefined when the request carries no token or is not an event stream.
 */
function streamTokenTenant(c: Context, tokens: StreamTokens): Tenant | undefined {
  const token = c.req.method === 'GET' ? c.req.query('token') : undefined;
  const scope = token === undefined ? undefined : streamScopeOf(c.req.path);
  if (token === undefined || !scope) return undefined;
  return { owner: tokens.verify(token, scope), admin: false };
}

/**
 * Client routes (/api/v1/*) need one of API_KEYS (or the admin key), or on an event stream its stream token, once
 * API_KEYS is configured; with none configured they stay open, as in the embedded single-machine default. Sets
 * the caller's tenant either way.
 */
export function clientKeyAuth(tenants: TenantDirectory, streamTokens: StreamTokens): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!tenants.keysRequired || c.req.method === 'OPTIONS' || NOT_CLIENT_ROUTES.test(c.req.path)) {
      c.set('tenant', tenants.resolve(presentedKey(c)) ?? ANONYMOUS);
      return next();
    }
    const tenant = tenants.resolve(presentedKey(c)) ?? streamTokenTenant(c, streamTokens);
    if (!tenant) throw unauthorized(c, 'A valid API key is required (Authorization: Bearer <key>)');
    c.set('tenant', tenant);
    return next();
  };
}

/**
 * Operator routes need ADMIN_API_KEY. Without one they are open only while the service runs without any keys
 * (embedded default); once client keys exist, a missing admin key closes them rather than opening them to
 * every client.
 */
export function adminKeyAuth(config: KeyConfig, tenants: TenantDirectory): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (config.ADMIN_API_KEY) {
      const tenant = tenants.resolveAdmin(presentedKey(c));
      if (!tenant) throw unauthorized(c, 'The admin API key is required (Authorization: Bearer <key>)');
      c.set('tenant', tenant);
      return next();
    }
    if (config.API_KEYS.length > 0) {
      throw new PhotoEnhanceError('FORBIDDEN', 'Admin routes are disabled: set ADMIN_API_KEY to use them');
    }
    return next();
  };
}
