/**
 * Routes are defined with their schemas (issue 20): every HTTP route is registered with
 * app.openapi(createRoute(...)), so its parameters, body and answers are written once, next to the handler,
 * and the OpenAPI document is generated from the routes. No hand-made document fragment is left to drift.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const API_SRC = join(root, 'services/api/src');
const ROUTES = join(API_SRC, 'routes');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Comments out, so only code counts (a comment may say "app.get" when it explains the change). */
function code(path: string): string {
  return readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

const rel = (path: string) => relative(root, path);
const routeFiles = tsFiles(ROUTES);
/** Plain Hono registrations: a method call with a path string (or template) as the first argument. */
const PLAIN_ROUTE = /\.(get|post|put|patch|delete|options|all|on)\(\s*(\[?\s*['"`]\/)/g;

describe('routes are defined with their schemas', () => {
  it('registers every route with app.openapi(createRoute(...)), never a plain app.get/post/delete', () => {
    const registering = routeFiles.filter((file) => /\bapp\.openapi\(/.test(code(file)));
    // The rule below is not vacuous: the route modules really register this way.
    expect(registering.length).toBeGreaterThanOrEqual(10);
    for (const file of [...routeFiles, join(API_SRC, 'app.ts')]) {
      const text = code(file);
      const plain = [...text.matchAll(PLAIN_ROUTE)].map((m) => m[0]);
      expect(plain, `${rel(file)} registers a route without its schema`).toEqual([]);
      expect(text, `${rel(file)} builds a bare Hono router (use createRouter)`).not.toMatch(/new Hono\b/);
      for (const m of text.matchAll(/\bapp\.openapi\(\s*([A-Za-z_$][\w$]*)/g)) {
        const name = m[1] as string;
        // Either a route constant (`const x = createRoute({...})`) or a function building one.
        const defined = new RegExp(`\\b${name}\\s*=\\s*createRoute\\(`).test(text);
        const factory = new RegExp(`function\\s+${name}\\s*\\([^)]*\\)[^{]*\\{\\s*return\\s+createRoute\\(`).test(text);
        expect(defined || factory, `${rel(file)}: app.openapi(${name}, …) is not a createRoute definition`).toBe(true);
      }
    }
  });

  it('describes every path parameter in the route (request.params), so it is validated and documented', () => {
    for (const file of routeFiles) {
      const text = code(file);
      for (const m of text.matchAll(/createRoute\(\{[\s\S]*?path:\s*['"`]([^'"`]+)['"`][\s\S]*?\n\s*\}\)/g)) {
        const [definition, path] = m as unknown as [string, string];
        if (!/(^|[^$])\{[^}]+\}/.test(path)) continue;
        expect(definition, `${rel(file)}: ${path} has no request.params`).toMatch(/params:\s*\w+/);
      }
    }
  });

  it('keeps no hand-made OpenAPI fragment, and the docs routes import no other route module', () => {
    const fragments = routeFiles.filter((file) => /(^|\/)openapi[^/]*\.ts$/.test(file));
    expect(fragments.map(rel)).toEqual([]);
    for (const dir of readdirSync(ROUTES)) {
      expect(existsSync(join(ROUTES, dir, 'openapi.ts')), `routes/${dir}/openapi.ts`).toBe(false);
    }
    for (const file of tsFiles(join(ROUTES, 'docs'))) {
      const imports = [...code(file).matchAll(/from\s+'(\.\.\/[^']+)'/g)].map((m) => m[1] as string);
      const backImports = imports.filter((spec) => !spec.startsWith('../../') && spec.startsWith('../'));
      expect(backImports, `${rel(file)} imports another route module`).toEqual([]);
    }
  });
});
