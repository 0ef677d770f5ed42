import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  getCanonicalHeaders,
  getSigningKey,
  SignatureV4Base,
  type SignatureV4CryptoInit,
  type SignatureV4Init,
} from '@smithy/signature-v4';
import type { Checksum, HttpRequest, QueryParameterBag, SourceData } from '@smithy/types';
import type { EmbeddedCredentials } from './credentials.ts';

/**
 * SHA-256 (and HMAC-SHA256 when given a secret) over node:crypto, in the Checksum shape smithy's signer takes.
 * Written here because the SDK's own `@smithy/hash-node` is not a hoisted, declared package of this workspace.
 */
class NodeSha256 implements Checksum {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: Uint8Array | string): void {
    this.hash.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    throw new Error('NodeSha256 cannot be reset');
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/**
 * smithy's own canonicalisation (path, query, headers, string to sign), reused to recompute a signature rather
 * than re-implementing SigV4 by hand: the protected helpers of SignatureV4Base are exactly what the SDK signs.
 */
class CanonicalSigner extends SignatureV4Base {
  constructor(init: SignatureV4Init & SignatureV4CryptoInit) {
    super(init);
  }
  canonicalRequest(request: HttpRequest, signedHeaders: string[], payloadHash: string): string {
    const headers = getCanonicalHeaders(request, new Set(), new Set(signedHeaders));
    return this.createCanonicalRequest(request, headers, payloadHash);
  }
  stringToSign(longDate: string, scope: string, canonicalRequest: string): Promise<string> {
    return this.createStringToSign(longDate, scope, canonicalRequest, 'AWS4-HMAC-SHA256');
  }
}

/** What a request to the embedded backend looks like to the verifier (taken from node's IncomingMessage). */
export interface IncomingSignedRequest {
  method: string;
  /** The raw request target: path and query exactly as sent (still percent-encoded). */
  url: string;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  /** The body's SHA-256 (hex) when the caller buffered it; needed only for requests without x-amz-content-sha256. */
  bodySha256?: string;
}

export type VerifyResult =
  | { ok: true; service: string }
  | {
      ok: false;
      code: 'AccessDenied' | 'SignatureDoesNotMatch' | 'InvalidAccessKeyId' | 'RequestExpired';
      message: string;
    };

/** Accepted clock difference for header-signed requests, as AWS does (15 minutes). */
const MAX_SKEW_MS = 15 * 60 * 1000;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const CREDENTIAL = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/;

function parseAmzDate(value: string | undefined): number | undefined {
  const m = value ? AMZ_DATE.exec(value) : null;
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/**
 * The query as smithy's canonicaliser wants it: decoded names and values (it re-encodes them). Parsed by hand
 * rather than with URLSearchParams, which would turn a literal '+' into a space and break the signature.
 */
export function parseQuery(search: string): QueryParameterBag {
  const query: QueryParameterBag = {};
  for (const part of search.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = safeDecode(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? '' : safeDecode(part.slice(eq + 1));
    const existing = query[name];
    if (existing === undefined || existing === null) query[name] = value;
    else query[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function header(headers: IncomingSignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function constantTimeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks AWS Signature V4 on a request to the embedded backend — an Authorization header (SDK clients) or a
 * presigned query (browser PUTs and downloads) — by recomputing it with the backend's own credentials.
 * Not checked: the body against a hex x-amz-content-sha256 and aws-chunked chunk signatures (the headers that
 * declare them are signed; see SECURITY.md).
 */
export function createSigV4Verifier(credentials: EmbeddedCredentials, now: () => number = Date.now) {
  const signers = new Map<string, CanonicalSigner>();
  const signerFor = (service: string, region: string): CanonicalSigner => {
    const id = `${service}/${region}`;
    let signer = signers.get(id);
    if (!signer) {
      // S3 signs the path as sent (no second escaping, no dot-segment normalisation); every other service does.
      signer = new CanonicalSigner({
        service,
        region,
        credentials,
        sha256: NodeSha256,
        uriEscapePath: service !== 's3',
      });
      signers.set(id, signer);
    }
    return signer;
  };

  return async function verify(req: IncomingSignedRequest): Promise<VerifyResult> {
    const q = req.url.indexOf('?');
    const path = q === -1 ? req.url : req.url.slice(0, q);
    const query = parseQuery(q === -1 ? '' : req.url.slice(q + 1));
    const authorization = header(req.headers, 'authorization');
    const presigned = typeof query['X-Amz-Signature'] === 'string';
    if (!authorization && !presigned) {
      return { ok: false, code: 'AccessDenied', message: 'Unsigned request: the embedded backend needs AWS SigV4' };
    }

    let credential: string;
    let signedHeaders: string[];
    let signature: string;
    let longDate: string | undefined;
    if (presigned) {
      if (query['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256') {
        return { ok: false, code: 'AccessDenied', message: 'Only AWS4-HMAC-SHA256 presigned URLs are accepted' };
      }
      credential = String(query['X-Amz-Credential'] ?? '');
      signedHeaders = String(query['X-Amz-SignedHeaders'] ?? '')
        .split(';')
        .filter(Boolean);
      signature = String(query['X-Amz-Signature']);
      longDate = typeof query['X-Amz-Date'] === 'string' ? query['X-Amz-Date'] : undefined;
      const signedAt = parseAmzDate(longDate);
      const expires = Number(query['X-Amz-Expires']);
      if (signedAt === undefined || !Number.isInteger(expires) || expires < 1 || expires > 604_800) {
        return { ok: false, code: 'AccessDenied', message: 'Presigned URL has no valid date or expiry' };
      }
      if (now() > signedAt + expires * 1000) {
        return { ok: false, code: 'RequestExpired', message: 'Request has expired' };
      }
      if (signedAt - now() > MAX_SKEW_MS) {
        return { ok: false, code: 'AccessDenied', message: 'Presigned URL is dated in the future' };
      }
    } else {
      const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)$/.exec(
        authorization?.trim() ?? '',
      );
      if (!m) return { ok: false, code: 'AccessDenied', message: 'Authorization header is not AWS SigV4' };
      credential = m[1] ?? '';
      signedHeaders = (m[2] ?? '').split(';');
      signature = m[3] ?? '';
      longDate = header(req.headers, 'x-amz-date');
      const signedAt = parseAmzDate(longDate);
      if (signedAt === undefined || Math.abs(now() - signedAt) > MAX_SKEW_MS) {
        return { ok: false, code: 'RequestExpired', message: 'Signed request is too old or has no x-amz-date' };
      }
    }

    const scope = CREDENTIAL.exec(credential);
    if (!scope || !longDate) return { ok: false, code: 'AccessDenied', message: 'Malformed credential scope' };
    const [, accessKeyId, shortDate, region, service] = scope as unknown as [string, string, string, string, string];
    if (!constantTimeEqualHex(accessKeyId, credentials.accessKeyId)) {
      return { ok: false, code: 'InvalidAccessKeyId', message: 'Unknown access key' };
    }
    if (!longDate.startsWith(shortDate) || !signedHeaders.includes('host')) {
      return { ok: false, code: 'AccessDenied', message: 'Credential scope does not match the signed date or host' };
    }

    const headers: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = header(req.headers, name);
      if (value === undefined) {
        return { ok: false, code: 'SignatureDoesNotMatch', message: `Signed header ${name} is missing` };
      }
      headers[name] = value;
    }
    const declaredHash = presigned
      ? typeof query['X-Amz-Content-Sha256'] === 'string'
        ? query['X-Amz-Content-Sha256']
        : 'UNSIGNED-PAYLOAD'
      : header(req.headers, 'x-amz-content-sha256');
    const payloadHash = declaredHash ?? req.bodySha256;
    if (!payloadHash) {
      return { ok: false, code: 'SignatureDoesNotMatch', message: 'No payload hash to check the signature with' };
    }

    const signer = signerFor(service, region);
    const request: HttpRequest = {
      method: req.method.toUpperCase(),
      protocol: 'http:',
      hostname: headers.host ?? '',
      path,
      query,
      headers,
    };
    const canonical = signer.canonicalRequest(request, signedHeaders, payloadHash);
    const toSign = await signer.stringToSign(longDate, `${shortDate}/${region}/${service}/aws4_request`, canonical);
    const key = await getSigningKey(NodeSha256, credentials, shortDate, region, service);
    const expected = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
    if (!constantTimeEqualHex(expected, signature)) {
      return { ok: false, code: 'SignatureDoesNotMatch', message: 'The request signature does not match' };
    }
    return { ok: true, service };
  };
}

export type SigV4Verifier = ReturnType<typeof createSigV4Verifier>;
