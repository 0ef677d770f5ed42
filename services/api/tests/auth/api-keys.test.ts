import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startTestApi, type TestApi } from '../harness.ts';

const CLIENT_KEY = 'client-key-0123456789abcdef';
const OTHER_CLIENT_KEY = 'second-client-key-0123456789';
const ADMIN_KEY = 'admin-key-0123456789abcdef';
const SOME_TASK = '/api/v1/status/6f1c1d8e-8a4b-4c2e-9f3a-1b2c3d4e5f60';

describe('API keys configured', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ API_KEYS: `${CLIENT_KEY}, ${OTHER_CLIENT_KEY}`, ADMIN_API_KEY: ADMIN_KEY });
  });
  afterAll(async () => {
    await api?.dispose();
  });

  it('refuses client routes without a key or with a wrong one (401 + WWW-Authenticate)', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-key-0123456789abc' }, { 'x-api-key': 'nope' }]) {
      const res = await api.app.request(SOME_TASK, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await readJson(res)).error.code).toBe('UNAUTHORIZED');
    }
  });

  it('lets any configured key through, as a bearer token or X-API-Key, and the admin key too', async () => {
    for (const headers of [
      { authorization: `Bearer ${CLIENT_KEY}` },
      { authorization: `bearer ${OTHER_CLIENT_KEY}` },
      { 'x-api-key': CLIENT_KEY },
      { authorization: `Bearer ${ADMIN_KEY}` },
    ]) {
      const res = await api.app.request(SOME_TASK, { headers });
      // Past authentication: the task simply does not exist.
      expect(res.status).toBe(404);
    }
  });

  it('takes the key as ?api_key= on event streams only (EventSource cannot send headers)', async () => {
    const events = '/api/v1/tasks/6f1c1d8e-8a4b-4c2e-9f3a-1b2c3d4e5f60/events';
    expect((await api.app.request(`${events}?api_key=${CLIENT_KEY}`)).status).toBe(404);
    expect((await api.app.request(`${events}?api_key=wrong-key-0123456789abc`)).status).toBe(401);
    expect((await api.app.request(`${SOME_TASK}?api_key=${CLIENT_KEY}`)).status).toBe(401);
  });

  it('refuses an upload without a key before reading it, storing nothing', async () => {
    const before = await api.snapshot();
    const form = new FormData();
    form.append('file', new File([new Uint8Array([1, 2, 3])], 'a.jpg'));
    const res = await api.app.request('/api/v1/enhance', { method: 'POST', body: form });
    expect(res.status).toBe(401);
    expect(await api.snapshot()).toEqual(before);
  });

  it('keeps health, readiness and docs open, and metrics for the admin key only', async () => {
    for (const path of ['/', '/health', '/ready', '/openapi.json', '/docs']) {
      expect((await api.app.request(path)).status, path).toBe(200);
    }
    expect((await api.app.request('/metrics')).status).toBe(401);
    const asClient = await api.app.request('/metrics', { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    expect(asClient.status).toBe(401);
    const asAdmin = await api.app.request('/metrics', { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(asAdmin.status).toBe(200);
  });

  it('keeps the admin list for the admin key only', async () => {
    const asClient = await api.app.request('/api/v1/workers', { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    expect(asClient.status).toBe(401);
    const asAdmin = await api.app.request('/api/v1/workers', { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(asAdmin.status).toBe(200);
  });

  it('declares the key requirement in the OpenAPI document', async () => {
    const doc = await readJson(await api.app.request('/openapi.json'));
    expect(doc.paths['/api/v1/enhance'].post.security).toEqual([{ apiKey: [] }, { apiKeyHeader: [] }]);
    expect(doc.paths['/api/v1/enhance'].post.responses['401']).toBeDefined();
    expect(doc.paths['/health'].get.security).toBeUndefined();
  });
});

describe('only client keys configured', () => {
  it('closes admin routes instead of opening them to clients', async () => {
    const api = await startTestApi({ API_KEYS: CLIENT_KEY });
    try {
      const res = await api.app.request('/api/v1/workers', { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
      expect(res.status).toBe(403);
    } finally {
      await api.dispose();
    }
  });
});

describe('no keys configured (embedded default)', () => {
  it('leaves client and admin routes open', async () => {
    const api = await startTestApi();
    try {
      expect((await api.app.request(SOME_TASK)).status).toBe(404);
      expect((await api.app.request('/api/v1/workers')).status).toBe(200);
    } finally {
      await api.dispose();
    }
  });
});
