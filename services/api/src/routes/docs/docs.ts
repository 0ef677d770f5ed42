import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import swaggerPackage from 'swagger-ui-dist/package.json' with { type: 'json' };
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { buildOpenApiDocument } from './openapi.ts';

/** swagger-ui-dist's folder: Swagger UI is served from the installed package, never from a CDN. */
const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const SWAGGER_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};
const SWAGGER_VERSION = swaggerPackage.version;

/** Swagger UI ("Try it out") reading /openapi.json, the one source of the API's description. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>PhotoEnhance API docs</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css?v=${SWAGGER_VERSION}">
<style>body{margin:0}.back{font:14px system-ui,sans-serif;padding:.5rem 1rem;background:#1b1b1b}.back a{color:#fff}</style>
</head><body>
<div class="back"><a href="/">← PhotoEnhance web app</a></div>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js?v=${SWAGGER_VERSION}"></script>
<script>
window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true });
</script></body></html>`;

export function docsRoutes(deps: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const document = buildOpenApiDocument({
    maxUploadBytes: deps.config.MAX_UPLOAD_BYTES,
    apiKeysRequired: deps.config.API_KEYS.length > 0,
    batchMaxFiles: deps.config.BATCH_MAX_FILES,
    maxDirectUploadBytes: deps.config.DIRECT_UPLOAD_MAX_BYTES,
    maxVideoBytes: deps.config.VIDEO_MAX_UPLOAD_BYTES,
  });
  app.get('/openapi.json', (c) => c.json(document));
  app.get('/docs', (c) => c.html(PAGE));
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  app.get('/docs/:file', (c) => {
    const name = c.req.param('file');
    const type = SWAGGER_FILES[name];
    if (!type) return c.notFound();
    let body = files.get(name);
    if (!body) {
      body = new Uint8Array(readFileSync(join(SWAGGER_DIR, name)));
      files.set(name, body);
    }
    c.header('Content-Type', type);
    c.header('Cache-Control', c.req.query('v') ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
    return c.body(body);
  });
  return app;
}
