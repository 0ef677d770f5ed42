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

  it('serves the docs page', async () => {
    const res = await api.app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('/openapi.json');
  });
});
