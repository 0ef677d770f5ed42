import { createHmac } from 'node:crypto';
import { isPhotoEnhanceError } from '@photoenhance/contracts';
import { describe, expect, it } from 'vitest';
import {
  computeSignature,
  constantTimeEqual,
  SIGNATURE_HEADER,
  signatureHeaders,
  TIMESTAMP_HEADER,
  verifySignature,
} from '../../src/signing/hmac.ts';
import { createReplayGuard } from '../../src/signing/replay-guard.ts';

const SECRET = 'a-shared-secret-of-some-length';
const BODY = JSON.stringify({ event: 'register', worker: { workerId: 'w1' } });

function expectUnauthorized(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    expect(isPhotoEnhanceError(err) && err.code).toBe('UNAUTHORIZED');
    return;
  }
  throw new Error('expected UNAUTHORIZED');
}

describe('HMAC-SHA256 request signing', () => {
  it('signs timestamp.body with HMAC-SHA256 (interoperable with any HMAC implementation)', () => {
    const now = new Date('2025-01-02T03:04:05Z');
    const headers = signatureHeaders(SECRET, BODY, now);
    const ts = Math.floor(now.getTime() / 1000);
    expect(headers[TIMESTAMP_HEADER]).toBe(String(ts));
    const independent = createHmac('sha256', SECRET).update(`${ts}.${BODY}`).digest('hex');
    expect(headers[SIGNATURE_HEADER]).toBe(`v1=${independent}`);
  });

  it('accepts its own signature and returns the digest', () => {
    const now = new Date();
    const h = signatureHeaders(SECRET, BODY, now);
    const verified = verifySignature({
      secret: SECRET,
      timestamp: h[TIMESTAMP_HEADER],
      signature: h[SIGNATURE_HEADER],
      body: BODY,
      now,
    });
    expect(verified.digest).toBe(computeSignature(SECRET, verified.timestamp, BODY));
  });

  it('refuses a changed body, a wrong secret, missing headers and other schemes', () => {
    const now = new Date();
    const h = signatureHeaders(SECRET, BODY, now);
    const base = { secret: SECRET, timestamp: h[TIMESTAMP_HEADER], signature: h[SIGNATURE_HEADER], body: BODY, now };
    expectUnauthorized(() => verifySignature({ ...base, body: `${BODY} ` }));
    expectUnauthorized(() => verifySignature({ ...base, secret: `${SECRET}x` }));
    expectUnauthorized(() => verifySignature({ ...base, signature: undefined }));
    expectUnauthorized(() => verifySignature({ ...base, timestamp: null }));
    expectUnauthorized(() => verifySignature({ ...base, timestamp: 'soon' }));
    expectUnauthorized(() =>
      verifySignature({ ...base, signature: String(h[SIGNATURE_HEADER]).replace('v1=', 'v0=') }),
    );
  });

  it('accepts timestamps within ±5 minutes and refuses older or newer ones', () => {
    const signedAt = new Date('2025-06-01T12:00:00Z');
    const h = signatureHeaders(SECRET, BODY, signedAt);
    const at = (offsetSeconds: number) => new Date(signedAt.getTime() + offsetSeconds * 1000);
    const base = { secret: SECRET, timestamp: h[TIMESTAMP_HEADER], signature: h[SIGNATURE_HEADER], body: BODY };
    expect(() => verifySignature({ ...base, now: at(299) })).not.toThrow();
    expect(() => verifySignature({ ...base, now: at(-299) })).not.toThrow();
    expectUnauthorized(() => verifySignature({ ...base, now: at(301) }));
    expectUnauthorized(() => verifySignature({ ...base, now: at(-301) }));
  });

  it('compares in constant time without length shortcuts giving wrong answers', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

describe('replay guard', () => {
  it('accepts a digest once within its lifetime, again after it expired', () => {
    const guard = createReplayGuard({ ttlMs: 1000 });
    expect(guard.claim('d1', 0)).toBe(true);
    expect(guard.claim('d1', 500)).toBe(false);
    expect(guard.claim('d2', 500)).toBe(true);
    expect(guard.claim('d1', 1001)).toBe(true);
  });

  it('stays bounded', () => {
    const guard = createReplayGuard({ ttlMs: 60_000, maxEntries: 10 });
    for (let i = 0; i < 50; i++) guard.claim(`d${i}`, i);
    expect(guard.size).toBeLessThanOrEqual(11);
  });
});
