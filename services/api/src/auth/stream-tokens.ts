import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isValidId, type OwnerId, OwnerIdSchema, PhotoEnhanceError } from '@photoenhance/contracts';
import type { ApiConfig } from '../config.ts';

/**
 * Short-lived signed stream tokens: what a browser's EventSource (which cannot send headers) presents instead of
 * `?api_key=`, so the key itself never rides in a URL (history, proxies, access logs). A token opens the event
 * stream of ONE task or batch, as the owner it was issued for, until it expires (STREAM_TOKEN_TTL_SECONDS).
 *
 * token = "v1" . owner ("-" when anonymous) . expiry (unix seconds) . base64url(HMAC-SHA256(secret,
 * "stream|<kind>|<id>|<owner>|<expiry>")). The id is not in the token: it is the one in the URL, so a token
 * presented on any other id fails its MAC. Hand-written rather than a JWT library: four fields and one HMAC
 * need no algorithm negotiation (no `alg: none` class of mistakes) and no dependency.
 */
export type StreamScope = { kind: 'task' | 'batch'; id: string };

export interface StreamTokens {
  /** A token for `scope` as `owner` (the record's owner, so an operator's token works like the owner's own). */
  issue(scope: StreamScope, owner: OwnerId | undefined): { token: string; expiresAt: Date };
  /**
   * The owner a token was issued for, when it is valid for `scope` now. Throws UNAUTHORIZED (401) for a malformed,
   * tampered or foreign token (details.reason stream_token_invalid) and for an expired one (stream_token_expired);
   * the answer never depends on whether the id exists.
   */
  verify(token: string, scope: StreamScope): OwnerId | undefined;
}

const TOKEN = /^v1\.([^.]{1,64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/** The event-stream routes a token may open, and the scope each path names. */
const STREAM_PATHS: [RegExp, StreamScope['kind']][] = [
  [/^\/api\/v1\/tasks\/([^/]+)\/events$/, 'task'],
  [/^\/api\/v1\/batch\/events\/([^/]+)$/, 'batch'],
];

/** The scope of an event-stream path, or undefined for any other path (tokens open nothing else). */
export function streamScopeOf(path: string): StreamScope | undefined {
  for (const [pattern, kind] of STREAM_PATHS) {
    const id = pattern.exec(path)?.[1];
    if (id !== undefined) return isValidId(id) ? { kind, id: id.toLowerCase() } : undefined;
  }
  return undefined;
}

/**
 * The signing secret: STREAM_TOKEN_SECRET when set (give every API instance the same one); else derived from
 * API_KEYS + ADMIN_API_KEY, which every instance of one deployment shares and no single client holds all of
 * (a lone client key with no admin key is the only tenant there is, with nothing of anyone else's to forge);
 * else, with no keys at all (streams need no credential then), random per process.
 */
export function streamTokenSecret(config: Pick<ApiConfig, 'STREAM_TOKEN_SECRET' | 'API_KEYS' | 'ADMIN_API_KEY'>) {
  if (config.STREAM_TOKEN_SECRET) return Buffer.from(config.STREAM_TOKEN_SECRET);
  const keys = [...config.API_KEYS, ...(config.ADMIN_API_KEY ? [config.ADMIN_API_KEY] : [])];
  if (keys.length === 0) return randomBytes(32);
  return createHmac('sha256', 'photoenhance-stream-token').update(JSON.stringify(keys.sort())).digest();
}

export function createStreamTokens(options: {
  secret: Buffer;
  ttlSeconds: number;
  /** Milliseconds since the epoch (tests inject a clock). */
  now?: () => number;
}): StreamTokens {
  const now = options.now ?? Date.now;
  const mac = (scope: StreamScope, owner: string, expiry: string) =>
    createHmac('sha256', options.secret).update(`stream|${scope.kind}|${scope.id}|${owner}|${expiry}`).digest();
  const invalid = () =>
    new PhotoEnhanceError('UNAUTHORIZED', 'Invalid stream token: ask for a new one (POST …/stream-token)', {
      details: { reason: 'stream_token_invalid' },
    });

  return {
    issue(scope, owner) {
      const expiry = String(Math.floor(now() / 1000) + options.ttlSeconds);
      const who = owner ?? '-';
      const signature = mac(scope, who, expiry).toString('base64url');
      return { token: `v1.${who}.${expiry}.${signature}`, expiresAt: new Date(Number(expiry) * 1000) };
    },
    verify(token, scope) {
      const parts = TOKEN.exec(token);
      if (!parts) throw invalid();
      const [, who = '', expiry = '', signature = ''] = parts;
      if (who !== '-' && !OwnerIdSchema.safeParse(who).success) throw invalid();
      const expected = mac(scope, who, expiry);
      const given = Buffer.from(signature, 'base64url');
      // Constant time: equal lengths are guaranteed by the pattern (43 base64url chars = 32 bytes).
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
      if (Number(expiry) * 1000 <= now()) {
        throw new PhotoEnhanceError('UNAUTHORIZED', 'Stream token expired: ask for a new one (POST …/stream-token)', {
          details: { reason: 'stream_token_expired' },
        });
      }
      return who === '-' ? undefined : (who as OwnerId);
    },
  };
}
