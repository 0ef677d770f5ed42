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
  it('describes the service and its limits on GET /', async () => {
    const res = await api.app.request('/');
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body.endpoints.enhance).toMatch(/POST \/api\/v1\/enhance/);
    expect(body.limits.max_upload_bytes).toBe(api.config.MAX_UPLOAD_BYTES);
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
    expect(await readJson(res)).toEqual({ error: { code: 'NOT_FOUND', message: 'No route GET /api/v1/nope' } });
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
