import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { PhotoEnhanceError } from '@photoenhance/contracts';

/**
 * HMAC-SHA256 request signing shared by worker registration (worker → API/gateway) and completion webhooks
 * (worker → client). The signature covers `{timestamp}.{body}`, so neither can be changed without the secret,
 * and the timestamp bounds how long a captured request stays usable.
 */

export const SIGNATURE_HEADER = 'x-photoenhance-signature';
export const TIMESTAMP_HEADER = 'x-photoenhance-timestamp';
/** Version prefix in the signature header, so the scheme can change without ambiguity. */
const SCHEME = 'v1';
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Hex HMAC-SHA256 of `{timestamp}.{body}`. */
export function computeSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The two headers to send with `body` (timestamp in whole seconds since the epoch). */
export function signatureHeaders(secret: string, body: string, now: Date = new Date()): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: `${SCHEME}=${computeSignature(secret, timestamp, body)}`,
  };
}

/**
 * Equality that takes the same time wherever the inputs differ. Both sides are hashed first so neither the
 * length nor a common prefix of a secret leaks through timing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export interface VerifyInput {
  secret: string;
  /** Raw header values as received (undefined when missing). */
  timestamp: string | undefined | null;
  signature: string | undefined | null;
  /** The exact bytes received, before any parsing. */
  body: string;
  now?: Date;
  toleranceSeconds?: number;
}

export interface VerifiedSignature {
  timestamp: number;
  /** The hex digest, a natural replay-cache key. */
  digest: string;
}

function unauthorized(reason: string): PhotoEnhanceError {
  // One message for every failure: the caller learns nothing about which part was wrong.
  return new PhotoEnhanceError('UNAUTHORIZED', 'Request signature is missing, invalid or expired', {
    details: { reason },
  });
}

/** Throws UNAUTHORIZED unless the signature matches and the timestamp is within ±tolerance of now. */
export function verifySignature(input: VerifyInput): VerifiedSignature {
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!input.timestamp || !/^\d{1,12}$/.test(input.timestamp)) throw unauthorized('timestamp');
  if (!input.signature) throw unauthorized('signature');
  const timestamp = Number(input.timestamp);
  const nowSeconds = Math.floor((input.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - timestamp) > tolerance) throw unauthorized('timestamp outside the allowed window');
  const presented = input.signature
    .split(',')
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${SCHEME}=`))
    ?.slice(SCHEME.length + 1);
  if (!presented) throw unauthorized('signature scheme');
  const expected = computeSignature(input.secret, timestamp, input.body);
  if (!constantTimeEqual(presented.toLowerCase(), expected)) throw unauthorized('signature mismatch');
  return { timestamp, digest: expected };
}
