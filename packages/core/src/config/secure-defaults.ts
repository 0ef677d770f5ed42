import { isIP } from 'node:net';
import { z } from 'zod';
import { envBool } from './env.ts';

/**
 * Secure defaults (issue 17 §4), shared by the API and the worker: where a process may listen without keys,
 * and what `NODE_ENV=production` (set in the container images) refuses.
 */
export const SecureDefaultsEnvShape = {
  /** `production` in the images: insecure settings are refused instead of tolerated. */
  NODE_ENV: z.string().optional(),
  /** Accept serving without API_KEYS on a network address (or in production): an explicit, logged choice. */
  ALLOW_ANONYMOUS: envBool(false),
} as const;

export function isProduction(env: { NODE_ENV?: string | undefined }): boolean {
  return env.NODE_ENV === 'production';
}

/** True for loopback listen addresses: localhost, 127.0.0.0/8, ::1 (bracketed or not). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1';
  return false;
}
