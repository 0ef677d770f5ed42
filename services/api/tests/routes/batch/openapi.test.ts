import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startTestApi, type TestApi } from '../../harness.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ BATCH_MAX_FILES: '7', DIRECT_UPLOAD_MAX_BYTES: '123456' });
});
afterAll(async () => {
  await api?.dispose();
});

describe('OpenAPI for batch, events and direct uploads', () => {
  it('documents every route with the schemas and limits the code uses', async () => {
    const doc = await readJson(await api.app.request('/openapi.json'));
    const batch = doc.paths['/api/v1/enhance/batch'].post;
    const form = batch.requestBody.content['multipart/form-data'].schema;
    expect(form.properties.files).toMatchObject({ type: 'array', maxItems: 7 });
    expect(form.properties.scale).toMatchObject({ minimum: 1, maximum: 16 });
    expect(Object.keys(batch.responses['200'].content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining([
        'batch_task_id',
        'total_files',
        'sub_tasks',
        'created_at',
        'batch_id',
        'tasks',
        'rejected',
        'events_url',
        'download_url',
      ]),
    );
    const status = doc.paths['/api/v1/batch/status/{batch_task_id}'].get;
    expect(status.responses['200'].content['application/json'].schema.properties.status.enum).toContain(
      'partial_completed',
    );
    expect(doc.paths['/api/v1/batch/download/{batch_task_id}'].get.responses['200'].content).toHaveProperty(
      'application/zip',
    );

    for (const path of ['/api/v1/tasks/{task_id}/events', '/api/v1/batch/events/{batch_task_id}']) {
      const op = doc.paths[path].get;
      expect(op.responses['200'].content).toHaveProperty('text/event-stream');
      expect(op.responses).toHaveProperty('204');
      expect(op.parameters.map((p: { name: string }) => p.name)).toContain('Last-Event-ID');
    }

    const uploads = doc.paths['/api/v1/uploads'].post;
    const request = uploads.requestBody.content['application/json'].schema;
    expect(request.required).toEqual(expect.arrayContaining(['filename', 'content_type', 'size']));
    expect(request.properties.content_type.enum).toContain('image/jpeg');
    expect(uploads.responses['201'].description).toContain('123456');
    const start = doc.paths['/api/v1/tasks/{task_id}/start'].post;
    expect(Object.keys(start.responses)).toEqual(expect.arrayContaining(['202', '404', '409', '415']));
  });
});
