import { TaskRecordSchema } from '@photoenhance/contracts';
import { createTaskRepository, keys } from '@photoenhance/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegFixture, readJson, startTestApi, type TestApi, uploadForm } from '../harness.ts';

// Only address classification happens here: no request is ever sent to the callback URLs.
// One API for the enhance, batch and direct-upload cases: each looks only at its own tasks or at storage before/after.
let api: TestApi;
let image: Buffer;
beforeAll(async () => {
  api = await startTestApi();
  image = await jpegFixture(32, 24);
});
afterAll(async () => {
  await api?.dispose();
});

describe('callback_url on POST /api/v1/enhance', () => {
  it.each([
    'http://10.0.0.8/hook',
    'http://192.168.1.20:8080/hook',
    'http://127.0.0.1:9000/hook',
    'http://localhost/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/hook',
    'ftp://example.com/hook',
    // issue 11: forms that used to be accepted
    'http://[::127.0.0.1]/',
    'http://[::ffff:0:127.0.0.1]/',
    'http://metadata.google.internal/',
    'http://169.254.169.254.nip.io/',
    'http:///x',
    'http:/x',
    'http://[64:ff9b::169.254.169.254]/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://metadata/',
    'file:///etc/passwd',
    'gopher://example.com/',
  ])('refuses %s with 400 and stores nothing', async (url) => {
    const before = await api.snapshot();
    const res = await api.app.request('/api/v1/enhance', {
      method: 'POST',
      body: uploadForm(image, 'p.jpg', { callback_url: url }),
    });
    expect(res.status).toBe(400);
    const body = await readJson(res);
    expect(body.error.code).toBe('INVALID_OPTIONS');
    expect(body.error.details.fields).toEqual(['callback_url']);
    expect(await api.snapshot()).toEqual(before);
  });

  it('stores a public callback URL on the task record', async () => {
    const res = await api.app.request('/api/v1/enhance', {
      method: 'POST',
      body: uploadForm(image, 'p.jpg', { callback_url: 'https://hooks.example.com/photo?id=7' }),
    });
    expect(res.status).toBe(200);
    const { task_id: taskId } = await readJson(res);
    const record = await api.backend.storage.readJson(keys.taskRecord(taskId), (v) => TaskRecordSchema.parse(v));
    expect(record?.callbackUrl).toBe('https://hooks.example.com/photo?id=7');
    // The status body does not echo it.
    const status = await readJson(await api.app.request(`/api/v1/status/${taskId}`));
    expect(JSON.stringify(status)).not.toContain('hooks.example.com');
  });
});

describe('callback_url on a batch and on a direct-upload start', () => {
  function batchForm(callbackUrl: string): FormData {
    const form = new FormData();
    for (const name of ['a.jpg', 'b.jpg'])
      form.append('files', new File([new Uint8Array(image)], name, { type: 'image/jpeg' }));
    form.append('callback_url', callbackUrl);
    return form;
  }

  it.each([
    'http://10.1.1.1/h',
    'http://[::127.0.0.1]/',
    'http://[::ffff:0:127.0.0.1]/',
    'http://metadata.google.internal/',
    'http://169.254.169.254.nip.io/',
    'http:///x',
  ])('refuses the batch callback %s with 400 before storing anything', async (url) => {
    const before = await api.snapshot();
    const res = await api.app.request('/api/v1/enhance/batch', {
      method: 'POST',
      body: batchForm(url),
    });
    expect(res.status).toBe(400);
    expect((await readJson(res)).error.code).toBe('INVALID_OPTIONS');
    expect(await api.snapshot()).toEqual(before);
  });

  it('puts the batch callback on every task of the batch', async () => {
    const res = await api.app.request('/api/v1/enhance/batch', {
      method: 'POST',
      body: batchForm('https://hooks.example.com/batch'),
    });
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body.tasks).toHaveLength(2);
    for (const { task_id: taskId } of body.tasks) {
      const record = await createTaskRepository(api.backend.storage).read(taskId);
      expect(record?.callbackUrl).toBe('https://hooks.example.com/batch');
    }
  });

  it('checks and stores callback_url when a direct upload is started', async () => {
    const created = await readJson(
      await api.app.request('/api/v1/uploads', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ filename: 'd.jpg', content_type: 'image/jpeg', size: image.length }),
      }),
    );
    const put = await fetch(created.upload.url, {
      method: 'PUT',
      headers: created.upload.headers,
      body: new Uint8Array(image),
    });
    expect(put.ok).toBe(true);
    const start = (callback_url: string) =>
      api.app.request(`/api/v1/tasks/${created.task_id}/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ callback_url }),
      });
    expect((await start('http://192.168.0.2/h')).status).toBe(400);
    expect(await createTaskRepository(api.backend.storage).read(created.task_id)).toBeNull();
    expect((await start('https://hooks.example.com/direct')).status).toBe(202);
    expect((await createTaskRepository(api.backend.storage).read(created.task_id))?.callbackUrl).toBe(
      'https://hooks.example.com/direct',
    );
  });
});

describe('callback_url with CALLBACK_ALLOW_PRIVATE', () => {
  it('accepts a loopback receiver', async () => {
    const api = await startTestApi({ CALLBACK_ALLOW_PRIVATE: 'true' });
    try {
      const res = await api.app.request('/api/v1/enhance', {
        method: 'POST',
        body: uploadForm(await jpegFixture(32, 24), 'p.jpg', { callback_url: 'http://127.0.0.1:9/hook' }),
      });
      expect(res.status).toBe(200);
    } finally {
      await api.dispose();
    }
  });
});
