import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { ApiConfig } from '../config.ts';

/**
 * Origins the page talks to besides its own: the object store its presigned PUTs (direct uploads) and, in
 * redirect mode, downloads go to. On AWS (no endpoint set) both S3 URL styles of the bucket's region.
 */
export function storageOrigins(
  config: Pick<ApiConfig, 'S3_PUBLIC_ENDPOINT' | 'S3_ENDPOINT' | 'S3_BUCKET' | 'S3_REGION'>,
): string[] {
  const endpoint = config.S3_PUBLIC_ENDPOINT ?? config.S3_ENDPOINT;
  if (endpoint) return [new URL(endpoint).origin];
  return [
    `https://s3.${config.S3_REGION}.amazonaws.com`,
    `https://${config.S3_BUCKET}.s3.${config.S3_REGION}.amazonaws.com`,
  ];
}

/** Result downloads (task and batch): see the CORP exception below. */
const DOWNLOAD_PATH = /^\/api\/v1\/(download|batch\/download)\//;

/** One year, as browsers' preload lists expect; only ever sent on HTTPS answers. */
const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Browser headers on every answer (pages, assets, JSON, errors), with hono's secureHeaders: a CSP with no inline
 * script anywhere (the web app and Swagger UI load only files this API serves), nosniff, no framing
 * (frame-ancestors 'none' + X-Frame-Options DENY), Referrer-Policy no-referrer (task ids in URLs never leak
 * to other sites). HSTS only on HTTPS: directly, or behind a proxy that says so (X-Forwarded-Proto), since
 * on plain HTTP a browser ignores it and on loopback it would pin localhost to HTTPS for every other app.
 */
export function securityHeaders(
  config: Pick<ApiConfig, 'S3_PUBLIC_ENDPOINT' | 'S3_ENDPOINT' | 'S3_BUCKET' | 'S3_REGION'>,
): MiddlewareHandler {
  const storage = storageOrigins(config);
  const headers = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      // Swagger UI writes style attributes in its markup: /docs alone allows inline style (never inline script).
      styleSrc: [(c) => (c.req.path === '/docs' ? "'self' 'unsafe-inline'" : "'self'")],
      imgSrc: ["'self'", 'data:', 'blob:', ...storage],
      // The video card plays the picked clip and the fetched result from blob: URLs.
      mediaSrc: ["'self'", 'blob:', ...storage],
      connectSrc: ["'self'", ...storage],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    xContentTypeOptions: 'nosniff',
    strictTransportSecurity: false,
    // Cross-origin images (a presigned download in redirect mode) carry no CORP header: do not require one.
    crossOriginEmbedderPolicy: false,
  });
  return async (c, next) => {
    await headers(c, next);
    // Results are embedded by pages on other origins too (PhotoEnhanceAI's stream page shows each one as an <img>
    // from its own origin): downloads are readable cross-origin; who may fetch them is decided by keys and owners.
    if (DOWNLOAD_PATH.test(c.req.path)) c.res.headers.set('Cross-Origin-Resource-Policy', 'cross-origin');
    const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    if (new URL(c.req.url).protocol === 'https:' || proto === 'https')
      c.res.headers.set('Strict-Transport-Security', HSTS);
  };
}
