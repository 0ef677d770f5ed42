import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startTestApi, type TestApi } from '../../harness.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.dispose();
});

describe('docs', () => {
  it('serves an OpenAPI document generated from the zod contracts', async () => {
    const doc = await readJson(await api.app.request('/openapi.json'));
    expect(doc.openapi).toBe('3.1.0');
    const upload = doc.paths['/api/v1/enhance'].post.requestBody.content['multipart/form-data'].schema;
    expect(upload.required).toEqual(['file']);
    expect(upload.properties.scale).toMatchObject({ minimum: 1, maximum: 16 });
    expect(upload.properties.quality_level.enum).toContain('low');
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toContain('FILE_TOO_LARGE');
  });

  it("documents PhotoEnhanceAI's shapes: 200 answers, query options, fractions, epoch seconds, detail", async () => {
    const doc = await readJson(await api.app.request('/openapi.json'));
    const enhance = doc.paths['/api/v1/enhance'].post;
    expect(Object.keys(enhance.responses)).toContain('200');
    expect(Object.keys(enhance.responses)).not.toContain('202');
    expect(enhance.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      'query:tile_size',
      'query:quality_level',
    ]);
    const accepted = enhance.responses['200'].content['application/json'].schema;
    expect(accepted.properties.created_at.type).toBe('number');
    const status = doc.paths['/api/v1/status/{task_id}'].get.responses['200'].content['application/json'].schema;
    expect(status.properties.progress).toMatchObject({ minimum: 0, maximum: 1 });
    expect(status.properties.percent).toMatchObject({ minimum: 0, maximum: 100 });
    expect(status.properties.error.type).toEqual(['string', 'null']);
    const health = doc.paths['/health'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(health.properties.model_status.properties).sort()).toEqual([
      'cuda_available',
      'device',
      'initialized',
    ]);
    expect(doc.paths['/api/v1/tasks'].get.responses).toHaveProperty('200');
    expect(doc.paths['/api/v1/download/{task_id}'].get.responses['200'].content).toHaveProperty(
      'application/octet-stream',
    );
    expect(doc.components.schemas.Error.required).toEqual(expect.arrayContaining(['error', 'detail']));
  });

  it("validates path ids by the route definition, answering in the API's own error shape", async () => {
    const cases: [string, string, string][] = [
      ['GET', '/api/v1/status/not-a-uuid', 'task_id'],
      ['DELETE', '/api/v1/tasks/123', 'task_id'],
      ['GET', '/api/v1/tasks/nope/events', 'task_id'],
      ['POST', '/api/v1/tasks/nope/start', 'task_id'],
      ['GET', '/api/v1/videos/nope', 'task_id'],
      ['GET', '/api/v1/batch/status/nope', 'batch_task_id'],
      ['GET', '/api/v1/batch/download/nope', 'batch_task_id'],
    ];
    for (const [method, path, field] of cases) {
      const res = await api.app.request(path, { method });
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(await readJson(res), `${method} ${path}`).toEqual({
        error: { code: 'INVALID_INPUT', message: `${field} must be a UUID v4`, details: { field } },
        detail: `${field} must be a UUID v4`,
      });
    }
  });

  it('serves Swagger UI from the swagger-ui-dist package (no CDN), reading /openapi.json', async () => {
    const res = await api.app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    // No inline script (the CSP forbids it): Swagger UI starts from a served file.
    expect(html).not.toMatch(/<script>/);
    expect(await (await api.app.request('/docs/swagger-init.js')).text()).toContain("url: '/openapi.json'");
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.some((a) => a.startsWith('/docs/swagger-ui-bundle.js'))).toBe(true);
    for (const url of assets) {
      expect(url).toMatch(/^\//);
      const asset = await api.app.request(url);
      expect(asset.status, url).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(100);
    }
    expect((await api.app.request('/docs/package.json')).status).toBe(404);
  });
});
