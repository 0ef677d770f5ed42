import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startTestApi, type TestApi } from '../../harness.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.dispose();
});

describe('service routes', () => {
  it('describes the service and its limits on GET / to API clients (no Accept, */*, JSON)', async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html;q=0.5']) {
      const res = await api.app.request('/', accept ? { headers: { Accept: accept } } : {});
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type'), String(accept)).toContain('application/json');
      expect(res.headers.get('vary')).toContain('Accept');
      const body = await readJson(res);
      expect(body.endpoints.enhance).toMatch(/POST \/api\/v1\/enhance/);
      expect(body.limits.max_upload_bytes).toBe(api.config.MAX_UPLOAD_BYTES);
      expect(body.limits.direct_upload_max_bytes).toBe(api.config.DIRECT_UPLOAD_MAX_BYTES);
    }
  });

  it('serves the web app on GET / to a browser, its assets from this repository and nothing from elsewhere', async () => {
    const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
    const res = await api.app.request('/', { headers: { Accept: browser } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const url of assets.filter((u) => !u.startsWith('data:'))) {
      expect(url, 'no CDN: every asset is a path on this service (or inline)').toMatch(/^\//);
      expect((await api.app.request(url)).status, url).toBe(200);
    }
    const js = await api.app.request(assets.find((u) => u.startsWith('/app/app.js')) as string);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await api.app.request('/app/nope.js')).status).toBe(404);
  });

  it('is healthy and ready while S3 and SQS answer', async () => {
    expect((await api.app.request('/health')).status).toBe(200);
    const ready = await api.app.request('/ready');
    expect(ready.status).toBe(200);
    expect(await readJson(ready)).toEqual({ status: 'ready', checks: { storage: 'ok', queue: 'ok' } });
  });

  it('answers unknown routes with the JSON error shape and allows cross-origin calls', async () => {
    const res = await api.app.request('/api/v1/nope', { headers: { Origin: 'http://example.test' } });
    expect(res.status).toBe(404);
    expect(await readJson(res)).toEqual({
      error: { code: 'NOT_FOUND', message: 'No route GET /api/v1/nope' },
      detail: 'No route GET /api/v1/nope',
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const preflight = await api.app.request('/api/v1/enhance', {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(204);
  });

  it('counts requests in /metrics', async () => {
    await api.app.request('/health');
    const text = await (await api.app.request('/metrics')).text();
    expect(text).toMatch(/photoenhance_api_http_requests_total\{method="GET",route="\/health",status="200"\} \d+/);
  });

  it('is not ready (503) once the backend is gone, and says which check failed', async () => {
    const doomed = await startTestApi();
    await doomed.embedded.stop();
    const res = await doomed.app.request('/ready');
    expect(res.status).toBe(503);
    const body = await readJson(res);
    expect(body.status).toBe('not_ready');
    expect(body.checks.storage).toMatch(/^error: /);
    expect(body.checks.queue).toMatch(/^error: /);
    await doomed.dispose();
  });
});
