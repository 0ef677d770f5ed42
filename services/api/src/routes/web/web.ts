import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../http/env.ts';
import { createRouter, fileParams } from '../../http/openapi.ts';

/** The built web app (services/api/web/dist, committed; rebuilt with `npm run build:web`). */
const DIST = join(import.meta.dirname, '..', '..', '..', 'web', 'dist');
const TYPES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** Read once at start-up: a few tens of kilobytes, served from memory. */
const assets = new Map(Object.keys(TYPES).map((name) => [name, readFileSync(join(DIST, name))]));
const indexHtml = readFileSync(join(DIST, 'index.html'), 'utf8');

/**
 * True when the client asks for HTML before JSON: browsers navigating to a page send
 * `text/html,…,*\/*;q=0.8`; curl, fetch() and the SDKs send `*\/*` or `application/json`, and keep JSON.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const q = (type: string): number => {
    for (const part of accept.split(',')) {
      const [media, ...params] = part.trim().split(';');
      if (media?.trim().toLowerCase() !== type) continue;
      const weight = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const value = weight ? Number(weight.slice(2)) : 1;
      return Number.isFinite(value) ? value : 0;
    }
    return -1;
  };
  const html = q('text/html');
  return html > 0 && html >= q('application/json');
}

/** The page itself (GET / for browsers; the service routes negotiate). */
export function webPage(c: Context<AppEnv>): Response {
  c.header('Cache-Control', 'no-cache');
  c.header('Vary', 'Accept');
  return c.html(indexHtml);
}

/** GET /app/{file}: the page's script and style sheet; URLs carry a content hash, so they cache for long. */
const assetRoute = createRoute({
  method: 'get',
  path: '/app/{file}',
  summary: "The web app's script and style sheet (app.js, app.css)",
  request: { params: fileParams('app.js or app.css') },
  responses: { 200: { description: 'Asset' }, 404: { description: 'No such asset' } },
});

export function webRoutes(): OpenAPIHono<AppEnv> {
  const app = createRouter();
  app.openapi(assetRoute, (c) => {
    const name = c.req.param('file');
    const body = assets.get(name);
    if (!body) return c.notFound();
    c.header('Content-Type', TYPES[name] ?? 'application/octet-stream');
    c.header('Cache-Control', c.req.query('v') ? 'public, max-age=31536000, immutable' : 'no-cache');
    return c.body(new Uint8Array(body));
  });
  return app;
}
