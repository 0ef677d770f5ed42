import type { OpenAPIHono } from '@hono/zod-openapi';
import { ErrorBodySchema } from '@photoenhance/contracts';
import type { OpenAPIObject } from 'openapi3-ts/oas31';
import type { AppEnv } from '../../http/env.ts';
import { errorResponses, jsonSchema } from '../../http/openapi.ts';

export interface OpenApiOptions {
  /** API_KEYS configured: client routes declare bearer security and a 401 answer. */
  apiKeysRequired: boolean;
}

const SECURITY_SCHEMES = {
  apiKey: { type: 'http', scheme: 'bearer', description: 'One of API_KEYS (or ADMIN_API_KEY) as a bearer token' },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Same keys in a header' },
  adminKey: { type: 'http', scheme: 'bearer', description: 'ADMIN_API_KEY as a bearer token' },
  workerSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-PhotoEnhance-Signature',
    description: 'v1=<hex HMAC-SHA256 of `{timestamp}.{body}` with WORKER_REGISTRATION_SECRET>',
  },
  workerTimestamp: {
    type: 'apiKey',
    in: 'header',
    name: 'X-PhotoEnhance-Timestamp',
    description: 'Unix seconds; must be within ±5 minutes of the server clock',
  },
} as const;

/** Client routes take the API keys; worker routes have their own security (signatures, admin key). */
function isClientRoute(path: string): boolean {
  return path.startsWith('/api/v1/') && !/^\/api\/v1\/workers(\/|$)/.test(path);
}

/**
 * Declares the API-key requirement on every client operation, whichever route module adds it: the keys are
 * checked by one middleware for all of /api/v1 (app.ts), so the document states it in one place too.
 */
function applyClientSecurity(document: OpenAPIObject): void {
  const unauthorized = errorResponses({ 401: 'API key missing or wrong' })[401];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    if (!isClientRoute(path)) continue;
    for (const operation of Object.values(item as Record<string, Record<string, unknown>>)) {
      operation.security ??= [{ apiKey: [] }, { apiKeyHeader: [] }];
      operation.responses ??= {};
      (operation.responses as Record<string, unknown>)['401'] ??= unauthorized;
    }
  }
}

/**
 * Every client operation may answer 429 (RATE_LIMIT_PER_MINUTE, or a per-key quota); reads of one task answer
 * 410 once its retention has passed. Added here for the same reason as the key requirement: one middleware
 * (rate limit) and one access service (retention) apply them to every route.
 */
function applyLimitResponses(document: OpenAPIObject): void {
  const limited = errorResponses({
    429: 'RATE_LIMITED (Retry-After, RateLimit-* headers) or QUOTA_EXCEEDED (details name the limit)',
  })[429];
  const expired = errorResponses({ 410: 'EXPIRED: the task finished more than RETENTION_HOURS ago' })[410];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    if (!isClientRoute(path)) continue;
    for (const [method, operation] of Object.entries(item as Record<string, Record<string, unknown>>)) {
      operation.responses ??= {};
      const responses = operation.responses as Record<string, unknown>;
      responses['429'] ??= limited;
      if (method === 'get' && path.includes('{task_id}')) responses['410'] ??= expired;
    }
  }
}

/**
 * The OpenAPI 3.1 document, generated from the routes the app registered with app.openapi(createRoute(...)):
 * every path, parameter, body and answer comes from a route definition, so the document cannot list a route
 * the app does not serve or miss one it does. Only what belongs to the whole API is added here: the info,
 * the shared Error schema, the security schemes and the client-key requirement.
 */
export function buildOpenApiDocument(app: OpenAPIHono<AppEnv>, options: OpenApiOptions): OpenAPIObject {
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'PhotoEnhance API',
      version: '0.1.0',
      description:
        'Upload a portrait, poll its status, download the result. Face restoration (GFPGAN family) + Real-ESRGAN super-resolution, run by GPU workers behind an SQS queue.',
    },
  });
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, Error: jsonSchema(ErrorBodySchema, 'output') },
    securitySchemes: { ...document.components?.securitySchemes, ...SECURITY_SCHEMES },
  };
  applyLimitResponses(document);
  if (options.apiKeysRequired) applyClientSecurity(document);
  return document;
}
