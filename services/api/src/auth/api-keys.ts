import { createHash } from 'node:crypto';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { constantTimeEqual } from '@photoenhance/core';
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiConfig } from '../config.ts';
import type { AppEnv } from '../http/env.ts';

/** Paths under /api/v1 that do not take client keys: worker routes use HMAC signatures or the admin key. */
const NOT_CLIENT_ROUTES = /^\/api\/v1\/workers(\/|$)/;

type KeyConfig = Pick<ApiConfig, 'API_KEYS' | 'ADMIN_API_KEY'>;

/** Event streams, where a browser's EventSource cannot send headers: the key may ride in `?api_key=`. */
const EVENT_STREAM = /\/events$/;

/** `Authorization: Bearer <key>` or `X-API-Key: <key>`; for GET event streams also `?api_key=<key>`. */
export function presentedKey(c: Context): string | undefined {
  const auth = c.req.header('authorization');
  const bearer = auth && /^Bearer\s+(.+)$/i.exec(auth.trim())?.[1];
  const fromQuery = c.req.method === 'GET' && EVENT_STREAM.test(c.req.path) ? c.req.query('api_key') : undefined;
  return bearer || c.req.header('x-api-key') || fromQuery || undefined;
}

/** Compares against every key without stopping at the first match, so timing says nothing about which matched. */
export function matchesAnyKey(presented: string | undefined, keys: readonly string[]): boolean {
  if (!presented) return false;
  let match = false;
  for (const key of keys) match = constantTimeEqual(presented, key) || match;
  return match;
}

function unauthorized(c: Context, message: string): PhotoEnhanceError {
  c.header('WWW-Authenticate', 'Bearer realm="photoenhance"');
  return new PhotoEnhanceError('UNAUTHORIZED', message);
}

/**
 * A caller's owner id: the first 128 bits of SHA-256 over its key, so records and object keys name the caller
 * without holding anything that could be used as the key (node:crypto: nothing to hand-write here).
 */
export function ownerOf(key: string): string {
  return createHash('sha256').update(`photoenhance-owner:${key}`).digest('hex').slice(0, 32);
}

/**
 * Client routes (/api/v1/*) need one of API_KEYS (or the admin key) once API_KEYS is configured; with none
 * configured they stay open, as in the embedded single-machine default.
 */
export function clientKeyAuth(config: KeyConfig): MiddlewareHandler<AppEnv> {
  const keys = config.ADMIN_API_KEY ? [...config.API_KEYS, config.ADMIN_API_KEY] : config.API_KEYS;
  return async (c, next) => {
    if (config.API_KEYS.length === 0 || c.req.method === 'OPTIONS' || NOT_CLIENT_ROUTES.test(c.req.path)) {
      return next();
    }
    const key = presentedKey(c);
    if (!key || !matchesAnyKey(key, keys)) {
      throw unauthorized(c, 'A valid API key is required (Authorization: Bearer <key>)');
    }
    c.set('owner', ownerOf(key));
    return next();
  };
}

/**
 * Admin routes need ADMIN_API_KEY. Without one they are open only while the service runs without any keys
 * (embedded default); once client keys exist, a missing admin key closes them rather than opening them to
 * every client.
 */
export function adminKeyAuth(config: KeyConfig): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (config.ADMIN_API_KEY) {
      if (!matchesAnyKey(presentedKey(c), [config.ADMIN_API_KEY])) {
        throw unauthorized(c, 'The admin API key is required (Authorization: Bearer <key>)');
      }
      return next();
    }
    if (config.API_KEYS.length > 0) {
      throw new PhotoEnhanceError('FORBIDDEN', 'Admin routes are disabled: set ADMIN_API_KEY to use them');
    }
    return next();
  };
}
