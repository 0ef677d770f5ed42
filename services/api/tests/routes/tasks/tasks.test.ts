import { newId, type TaskRecord } from '@photoenhance/contracts';
import { createTaskRepository, keys } from '@photoenhance/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegFixture, must, readJson, startTestApi, type TestApi, uploadForm } from '../../harness.ts';

let api: TestApi;
let proxy: TestApi;
let jpeg: Buffer;
beforeAll(async () => {
  [api, proxy, jpeg] = await Promise.all([startTestApi(), startTestApi({ DOWNLOAD_MODE: 'proxy' }), jpegFixture()]);
});
afterAll(async () => {
  await Promise.all([api?.dispose(), proxy?.dispose()]);
});

async function createTask(target: TestApi, name = 'portrait.jpg'): Promise<TaskRecord> {
  const res = await target.app.request('/api/v1/enhance', {
    method: 'POST',
    body: uploadForm(jpeg, name, { scale: '2' }),
  });
  expect(res.status).toBe(200);
  const { task_id } = await readJson(res);
  return must(await createTaskRepository(target.backend.storage).read(task_id));
}

/** What the worker does at the end of a job: result object, then the completed record. */
async function completeAsWorker(target: TestApi, record: TaskRecord, bytes: Buffer): Promise<TaskRecord> {
  const key = keys.output(record.taskId, record.input.filename, 'png');
  await target.backend.storage.put(key, bytes, { contentType: 'image/png' });
  const now = new Date().toISOString();
  return createTaskRepository(target.backend.storage).write({
    ...record,
    status: 'completed',
    progress: 100,
    stage: 'done',
    attempts: 1,
    startedAt: now,
    updatedAt: now,
    completedAt: now,
    result: {
      key,
      filename: key.split('/').pop() ?? '',
      bytes: bytes.length,
      format: 'png',
      width: 128,
      height: 96,
      faces: { detected: 1, restored: 0, skipped: [], notice: 'no restorer installed' },
      models: ['realesrgan-x4fast'],
      timings: { upscale: 0.5 },
    },
  });
}

describe('task ids', () => {
  it.each([
    ['GET', '/api/v1/status/not-a-uuid'],
    ['GET', '/api/v1/download/123'],
    ['DELETE', '/api/v1/tasks/..%2F..%2Fetc'],
    ['GET', '/api/v1/status/00000000-0000-1000-8000-000000000000'],
  ])('%s %s → 400 INVALID_INPUT', async (method, path) => {
    const res = await api.app.request(path, { method });
    expect(res.status).toBe(400);
    expect((await readJson(res)).error.code).toBe('INVALID_INPUT');
  });

  it.each(['GET /api/v1/status', 'GET /api/v1/download', 'DELETE /api/v1/tasks'])(
    '%s/{unknown} → 404 NOT_FOUND',
    async (route) => {
      const [method, path] = route.split(' ') as [string, string];
      const res = await api.app.request(`${path}/${newId()}`, { method });
      expect(res.status).toBe(404);
      expect((await readJson(res)).error.code).toBe('NOT_FOUND');
    },
  );
});

describe('status and download', () => {
  it('answers 409 until completed, then 302 to a presigned URL that serves the result', async () => {
    const record = await createTask(api);
    const early = await api.app.request(`/api/v1/download/${record.taskId}`);
    expect(early.status).toBe(409);
    expect((await readJson(early)).error).toMatchObject({ code: 'CONFLICT', details: { status: 'queued' } });

    const result = Buffer.from('pretend-png-result');
    await completeAsWorker(api, record, result);

    const status = await readJson(await api.app.request(`/api/v1/status/${record.taskId}`));
    expect(status).toMatchObject({
      status: 'completed',
      progress: 1,
      percent: 100,
      attempts: 1,
      result: {
        filename: 'portrait_enhanced.png',
        width: 128,
        height: 96,
        download_url: `/api/v1/download/${record.taskId}`,
        faces: { detected: 1 },
      },
    });

    const res = await api.app.request(`/api/v1/download/${record.taskId}`);
    expect(res.status).toBe(302);
    const location = must(res.headers.get('location'));
    expect(new URL(location).searchParams.get('response-content-disposition')).toContain('portrait_enhanced.png');
    const fetched = await fetch(location);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(result)).toBe(true);

    const json = await api.app.request(`/api/v1/download/${record.taskId}?redirect=false`);
    const link = await readJson(json);
    expect(link.filename).toBe('portrait_enhanced.png');
    expect(Date.parse(link.expires_at)).toBeGreaterThan(Date.now());
    expect(Buffer.from(await (await fetch(link.url)).arrayBuffer()).equals(result)).toBe(true);
  });

  it('streams the result itself in proxy mode (object stores without CORS)', async () => {
    const record = await createTask(proxy, 'me.jpg');
    const result = Buffer.from('proxied-result-bytes');
    await completeAsWorker(proxy, record, result);
    const res = await proxy.app.request(`/api/v1/download/${record.taskId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="me_enhanced.png"');
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).equals(result)).toBe(true);
  });

  it('reports a failed task with its error and refuses its download', async () => {
    const record = await createTask(api);
    const now = new Date().toISOString();
    await createTaskRepository(api.backend.storage).write({
      ...record,
      status: 'failed',
      stage: 'decode',
      updatedAt: now,
      completedAt: now,
      error: { code: 'CORRUPT_IMAGE', message: 'bad pixels' },
    });
    const status = await readJson(await api.app.request(`/api/v1/status/${record.taskId}`));
    expect(status).toMatchObject({
      status: 'failed',
      message: 'bad pixels',
      error: 'bad pixels',
      error_code: 'CORRUPT_IMAGE',
    });
    expect(status.result).toBeUndefined();
    expect((await api.app.request(`/api/v1/download/${record.taskId}`)).status).toBe(409);
  });
});

describe('DELETE /api/v1/tasks/{id}', () => {
  it('cancels a queued task: marker + cancelled record, input deleted; a second DELETE removes it', async () => {
    const record = await createTask(api);
    const res = await api.app.request(`/api/v1/tasks/${record.taskId}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({ task_id: record.taskId, status: 'cancelled' });
    expect(await api.backend.storage.head(record.input.key)).toBeNull();
    expect(await createTaskRepository(api.backend.storage).readCancelMarker(record.taskId)).not.toBeNull();
    expect((await createTaskRepository(api.backend.storage).read(record.taskId))?.status).toBe('cancelled');
    expect((await readJson(await api.app.request(`/api/v1/status/${record.taskId}`))).status).toBe('cancelled');

    const again = await api.app.request(`/api/v1/tasks/${record.taskId}`, { method: 'DELETE' });
    expect(await readJson(again)).toMatchObject({ status: 'deleted' });
    expect((await api.app.request(`/api/v1/status/${record.taskId}`)).status).toBe(404);
    expect(await api.backend.storage.list(`tasks/${record.taskId}`)).toEqual([]);
  });

  it('cancels a processing task through the marker without touching the worker-owned record', async () => {
    const record = await createTask(api);
    await createTaskRepository(api.backend.storage).write({
      ...record,
      status: 'processing',
      stage: 'upscale',
      progress: 40,
      attempts: 1,
      updatedAt: new Date().toISOString(),
    });
    await api.backend.storage.put(keys.output(record.taskId, record.input.filename, 'png'), Buffer.from('partial'));
    const res = await api.app.request(`/api/v1/tasks/${record.taskId}`, { method: 'DELETE' });
    expect((await readJson(res)).status).toBe('cancelled');
    expect((await createTaskRepository(api.backend.storage).read(record.taskId))?.status).toBe('processing');
    expect((await readJson(await api.app.request(`/api/v1/status/${record.taskId}`))).status).toBe('cancelled');
    expect(await api.backend.storage.list(keys.outputPrefix(record.taskId))).toEqual([]);
    expect(await api.backend.storage.list(keys.inputPrefix(record.taskId))).toEqual([]);
  });

  it('deletes a completed task with its result', async () => {
    const record = await createTask(api);
    await completeAsWorker(api, record, Buffer.from('done'));
    const res = await api.app.request(`/api/v1/tasks/${record.taskId}`, { method: 'DELETE' });
    expect((await readJson(res)).status).toBe('deleted');
    expect(await api.backend.storage.list(keys.outputPrefix(record.taskId))).toEqual([]);
    expect((await api.app.request(`/api/v1/download/${record.taskId}`)).status).toBe(404);
  });
});
