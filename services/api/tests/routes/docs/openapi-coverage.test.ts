import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startTestApi, type TestApi } from '../../harness.ts';

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

let api: TestApi;
// biome-ignore lint/suspicious/noExplicitAny: walks arbitrary JSON
let doc: any;
beforeAll(async () => {
  api = await startTestApi({ API_KEYS: 'client-key-0123456789abcdef', ADMIN_API_KEY: 'admin-key-0123456789abcdef' });
  doc = await readJson(await api.app.request('/openapi.json'));
});
afterAll(async () => {
  await api?.dispose();
});

/** Every JSON pointer ($ref) in the document. */
function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, found);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') found.push(v);
      else refs(v, found);
    }
  }
  return found;
}

function resolvePointer(pointer: string): unknown {
  expect(pointer.startsWith('#/')).toBe(true);
  return pointer
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
}

describe('OpenAPI document', () => {
  it('is structurally valid OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(typeof doc.info.title).toBe('string');
    expect(typeof doc.info.version).toBe('string');
    const schemes = doc.components.securitySchemes ?? {};
    for (const [path, item] of Object.entries<Record<string, Record<string, unknown>>>(doc.paths)) {
      expect(path.startsWith('/'), path).toBe(true);
      const templateParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries(item)) {
        expect(METHODS.has(method), `${method} ${path}`).toBe(true);
        const responses = op.responses as Record<string, { description?: unknown }>;
        expect(Object.keys(responses).length, `${method} ${path} has responses`).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(responses)) {
          expect(status, `${method} ${path}`).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
          expect(typeof response.description, `${method} ${path} ${status} description`).toBe('string');
        }
        // Path parameters: each template variable declared once, required, and nothing extra.
        const params = ((op.parameters as { in: string; name: string; required?: boolean }[]) ?? []).filter(
          (p) => p.in === 'path',
        );
        expect(params.map((p) => p.name).sort(), `${method} ${path} path parameters`).toEqual(templateParams);
        for (const p of params) expect(p.required, `${method} ${path} ${p.name}`).toBe(true);
        for (const requirement of (op.security as Record<string, unknown>[]) ?? []) {
          for (const name of Object.keys(requirement)) expect(schemes[name], `security scheme ${name}`).toBeDefined();
        }
      }
    }
    for (const pointer of refs(doc)) expect(resolvePointer(pointer), pointer).toBeDefined();
  });

  it('documents every route the app registers, and nothing it does not', () => {
    const registered = new Set(
      api.app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
    );
    const documented = new Set(
      Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method} ${path}`),
      ),
    );
    expect([...registered].filter((r) => !documented.has(r)).sort()).toEqual([]);
    expect([...documented].filter((d) => !registered.has(d)).sort()).toEqual([]);
    expect(registered.size).toBeGreaterThan(10);
  });

  it('describes callback_url and the worker routes from the zod contracts', () => {
    const form = doc.paths['/api/v1/enhance'].post.requestBody.content['multipart/form-data'].schema;
    expect(form.properties.callback_url).toMatchObject({ type: 'string', format: 'uri' });
    const announcement = doc.paths['/api/v1/workers/register'].post.requestBody.content['application/json'].schema;
    expect(announcement.properties.event.enum).toEqual(['register', 'heartbeat', 'deregister']);
    expect(announcement.properties.worker.required).toEqual(
      expect.arrayContaining(['workerId', 'version', 'providers', 'capacity']),
    );
    expect(doc.paths['/api/v1/workers'].get.security).toEqual([{ adminKey: [] }]);
  });
});
