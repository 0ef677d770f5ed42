import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { OpenAPIObject } from 'openapi3-ts/oas31';
import swaggerPackage from 'swagger-ui-dist/package.json' with { type: 'json' };
import { z } from 'zod';
import type { AppEnv } from '../../http/env.ts';
import { createRouter, fileParams } from '../../http/openapi.ts';

/** swagger-ui-dist's folder: Swagger UI is served from the installed package, never from a CDN. */
const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const SWAGGER_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};
const SWAGGER_VERSION = swaggerPackage.version;

/**
 * Swagger UI ("Try it out") reading /openapi.json, the one source of the API's description. No inline script or
 * style: the page's CSP allows only files served here, so its start-up code and its few rules are files too.
 */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>PhotoEnhance API docs</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css?v=${SWAGGER_VERSION}">
<link rel="stylesheet" href="/docs/docs.css?v=${SWAGGER_VERSION}">
</head><body>
<div class="back"><a href="/">← PhotoEnhance web app</a></div>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js?v=${SWAGGER_VERSION}"></script>
<script src="/docs/swagger-init.js?v=${SWAGGER_VERSION}"></script>
</body></html>`;

/** Files of the docs page written here rather than taken from swagger-ui-dist. */
const OWN_FILES: Record<string, { type: string; body: string }> = {
  'swagger-init.js': {
    type: 'text/javascript; charset=utf-8',
    body: "window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true });\n",
  },
  'docs.css': {
    type: 'text/css; charset=utf-8',
    body: 'body{margin:0}.back{font:14px system-ui,sans-serif;padding:.5rem 1rem;background:#1b1b1b}.back a{color:#fff}\n',
  },
};

const openApiRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  summary: 'This OpenAPI 3.1 document',
  responses: {
    200: {
      description: 'OpenAPI document',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});
const pageRoute = createRoute({
  method: 'get',
  path: '/docs',
  summary: 'Swagger UI over this document, with "Try it out"',
  responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
});
const assetRoute = createRoute({
  method: 'get',
  path: '/docs/{file}',
  summary: 'Swagger UI assets (from the swagger-ui-dist package)',
  request: { params: fileParams('swagger-ui.css, swagger-ui-bundle.js or favicon-32x32.png') },
  responses: { 200: { description: 'Asset' }, 404: { description: 'No such asset' } },
});

/**
 * /openapi.json, /docs and its assets. `document` is the app's generated document (routes/docs/document.ts),
 * asked for on the first request, once every route module has registered its routes.
 */
export function docsRoutes(document: () => OpenAPIObject): OpenAPIHono<AppEnv> {
  const app = createRouter();
  let built: OpenAPIObject | undefined;
  app.openapi(openApiRoute, (c) => {
    built ??= document();
    return c.json(built, 200);
  });
  app.openapi(pageRoute, (c) => c.html(PAGE));
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  app.openapi(assetRoute, (c) => {
    const name = c.req.param('file');
    const own = OWN_FILES[name];
    if (own) {
      c.header('Content-Type', own.type);
      c.header('Cache-Control', c.req.query('v') ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
      return c.body(own.body);
    }
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
