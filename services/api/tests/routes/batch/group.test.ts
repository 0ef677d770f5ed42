import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegFixture, readJson, startTestApi, type TestApi, uploadForm } from '../../harness.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.dispose();
});

async function enhance(): Promise<string> {
  const res = await api.app.request('/api/v1/enhance', {
    method: 'POST',
    body: uploadForm(await jpegFixture(32, 24), 'p.jpg'),
  });
  expect(res.status).toBe(200);
  return (await readJson(res)).task_id;
}

const group = (body: unknown) =>
  api.app.request('/api/v1/batches', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('POST /api/v1/batches', () => {
  it('groups tasks queued one by one; the batch status lists them in the given order', async () => {
    const ids = [await enhance(), await enhance()];
    const res = await group({ task_ids: ids });
    expect(res.status).toBe(201);
    const body = await readJson(res);
    expect(body.task_ids).toEqual(ids);
    expect(res.headers.get('location')).toBe(body.status_url);
    const status = await readJson(await api.app.request(body.status_url));
    expect(status.total).toBe(2);
    expect(status.sub_tasks.map((t: { task_id: string }) => t.task_id)).toEqual(ids);
    // Nothing has finished: the ZIP is refused until ?partial=true, like any batch.
    expect((await api.app.request(body.download_url)).status).toBe(409);
  });

  it('refuses unknown tasks (404, naming them), repeats, an empty list and non-JSON bodies (400)', async () => {
    const known = await enhance();
    const missing = '00000000-0000-4000-8000-000000000000';
    const unknown = await group({ task_ids: [known, missing] });
    expect(unknown.status).toBe(404);
    expect((await readJson(unknown)).error.message).toContain(missing);
    expect((await group({ task_ids: [known, known] })).status).toBe(400);
    expect((await group({ task_ids: [] })).status).toBe(400);
    expect((await group({ task_ids: ['../x'] })).status).toBe(400);
    const text = await api.app.request('/api/v1/batches', { method: 'POST', body: 'task_ids=1' });
    expect(text.status).toBe(400);
  });
});
