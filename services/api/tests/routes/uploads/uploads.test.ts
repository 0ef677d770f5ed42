import { newId } from '@photoenhance/contracts';
import { createTaskRepository, keys } from '@photoenhance/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegFixture, must, readJson, startTestApi, type TestApi } from '../../harness.ts';

let api: TestApi;
/** Small MAX_UPLOAD_BYTES: anything bigger is probed from a prefix instead of read whole. */
let prefixApi: TestApi;
let jpeg: Buffer;
beforeAll(async () => {
  [api, prefixApi, jpeg] = await Promise.all([
    startTestApi({ DIRECT_UPLOAD_MAX_BYTES: '200000', MAX_INPUT_PIXELS: '100000' }),
    startTestApi({ MAX_UPLOAD_BYTES: '1024' }),
    jpegFixture(64, 48),
  ]);
});
afterAll(async () => {
  await Promise.all([api?.dispose(), prefixApi?.dispose()]);
});

interface Issued {
  task_id: string;
  upload: { url: string; method: string; headers: Record<string, string>; expires_at: string };
  start_url: string;
}

async function issue(target: TestApi, body: Record<string, unknown>): Promise<Response> {
  return target.app.request('/api/v1/uploads', {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
}

async function issueFor(
  target: TestApi,
  bytes: Buffer,
  contentType = 'image/jpeg',
  name = 'big photo.jpg',
): Promise<Issued> {
  const res = await issue(target, { filename: name, content_type: contentType, size: bytes.length });
  expect(res.status).toBe(201);
  return readJson(res);
}

/** The client's PUT, with the headers the API said to send. */
async function put(issued: Issued, bytes: Buffer): Promise<Response> {
  const { 'content-length': _length, ...headers } = issued.upload.headers;
  return fetch(issued.upload.url, { method: 'PUT', body: new Uint8Array(bytes), headers });
}

async function start(target: TestApi, taskId: string, options?: Record<string, unknown>): Promise<Response> {
  return target.app.request(`/api/v1/tasks/${taskId}/start`, {
    method: 'POST',
    ...(options ? { body: JSON.stringify(options), headers: { 'content-type': 'application/json' } } : {}),
  });
}

async function queuedJobs(target: TestApi): Promise<Array<{ taskId: string; inputKey: string }>> {
  const jobs = [];
  for (const m of await target.backend.queue.receive({ max: 10, waitTimeSeconds: 0 })) {
    jobs.push(must(m.job));
    await target.backend.queue.delete(m.receiptHandle);
  }
  return jobs;
}

describe('POST /api/v1/uploads', () => {
  it('answers a malformed multipart body 400, not 500 (found by the chaos fuzzer)', async () => {
    const res = await api.app.request('/api/v1/uploads', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data' },
      body: '--zzz\r\nContent-Disposition: form-data; name="file"\r\n\r\n',
    });
    expect(res.status).toBe(400);
    expect((await readJson(res)).error.code).toBe('INVALID_INPUT');
  });

  it('hands out a short-lived presigned PUT bound to the content type and size, and records the pending upload', async () => {
    const issued = await issueFor(api, jpeg);
    expect(issued.upload.method).toBe('PUT');
    expect(issued.upload.headers).toEqual({ 'content-type': 'image/jpeg', 'content-length': String(jpeg.length) });
    expect(issued.start_url).toBe(`/api/v1/tasks/${issued.task_id}/start`);
    const url = new URL(issued.upload.url);
    expect(url.pathname).toBe(`/${api.config.S3_BUCKET}/inputs/${issued.task_id}/big_photo.jpg`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual(
      expect.arrayContaining(['content-length', 'content-type', 'host']),
    );
    const expires = Date.parse(issued.upload.expires_at) - Date.now();
    expect(expires).toBeGreaterThan(250_000);
    expect(expires).toBeLessThanOrEqual(300_000);
    expect(await api.backend.storage.head(keys.uploadRecord(issued.task_id))).not.toBeNull();
    // Nothing is a task until it is started.
    expect((await api.app.request(`/api/v1/status/${issued.task_id}`)).status).toBe(404);
  });

  it.each([
    [
      'a content type that is not an image',
      { filename: 'a.txt', content_type: 'text/plain', size: 10 },
      400,
      'INVALID_OPTIONS',
    ],
    ['a missing size', { filename: 'a.jpg', content_type: 'image/jpeg' }, 400, 'INVALID_OPTIONS'],
    [
      'a size over DIRECT_UPLOAD_MAX_BYTES',
      { filename: 'a.jpg', content_type: 'image/jpeg', size: 200_001 },
      413,
      'FILE_TOO_LARGE',
    ],
  ])('refuses %s', async (_what, body, status, code) => {
    const before = await api.snapshot();
    const res = await issue(api, body);
    expect(res.status).toBe(status);
    expect((await readJson(res)).error.code).toBe(code);
    expect(await api.snapshot()).toEqual(before);
  });
});

describe('POST /api/v1/tasks/{id}/start', () => {
  it('verifies the stored object, writes the queued task from the sniffed header and enqueues it once', async () => {
    await queuedJobs(api);
    const issued = await issueFor(api, jpeg);
    expect((await put(issued, jpeg)).status).toBe(200);
    const res = await start(api, issued.task_id, { scale: 2, quality_level: 'low', face: false });
    expect(res.status).toBe(202);
    expect(await readJson(res)).toMatchObject({ task_id: issued.task_id, status: 'queued' });

    const record = must(await createTaskRepository(api.backend.storage).read(issued.task_id));
    expect(record).toMatchObject({
      status: 'queued',
      options: { scale: 2, quality: 'fast', face: { enabled: false } },
      input: {
        key: `inputs/${issued.task_id}/big_photo.jpg`,
        format: 'jpeg',
        width: 64,
        height: 48,
        bytes: jpeg.length,
      },
    });
    expect(await queuedJobs(api)).toMatchObject([{ taskId: issued.task_id, inputKey: record.input.key }]);
    expect(await api.backend.storage.head(keys.uploadRecord(issued.task_id))).toBeNull();

    const again = await start(api, issued.task_id);
    expect(again.status).toBe(409);
    expect(await queuedJobs(api)).toEqual([]);
  });

  it('refuses a non-image with 415 and removes the object and the pending upload', async () => {
    const text = Buffer.from('this is a text file pretending to be a PNG\n'.repeat(20));
    const issued = await issueFor(api, text, 'image/png', 'fake.png');
    expect((await put(issued, text)).status).toBe(200);
    const res = await start(api, issued.task_id);
    expect(res.status).toBe(415);
    expect((await readJson(res)).error.code).toBe('UNSUPPORTED_FORMAT');
    expect(await api.backend.storage.list(`inputs/${issued.task_id}/`)).toEqual([]);
    expect(await api.backend.storage.head(keys.uploadRecord(issued.task_id))).toBeNull();
    expect(await createTaskRepository(api.backend.storage).read(issued.task_id)).toBeNull();
    expect(await queuedJobs(api)).toEqual([]);
  });

  it('refuses an image over the pixel limit (422) the same way', async () => {
    const large = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#456' } })
      .png()
      .toBuffer();
    const issued = await issueFor(api, large, 'image/png', 'large.png');
    await put(issued, large);
    const res = await start(api, issued.task_id);
    expect(res.status).toBe(422);
    expect((await readJson(res)).error.code).toBe('TOO_MANY_PIXELS');
    expect(await api.backend.storage.list(`inputs/${issued.task_id}/`)).toEqual([]);
  });

  it('answers 409 before the file is uploaded, and keeps the upload usable', async () => {
    const issued = await issueFor(api, jpeg);
    const early = await start(api, issued.task_id);
    expect(early.status).toBe(409);
    expect((await readJson(early)).error.code).toBe('CONFLICT');
    await put(issued, jpeg);
    expect((await start(api, issued.task_id)).status).toBe(202);
    await queuedJobs(api);
  });

  it('keeps the upload when only an option is wrong, so start can be called again', async () => {
    const issued = await issueFor(api, jpeg);
    await put(issued, jpeg);
    const bad = await start(api, issued.task_id, { scale: 40 });
    expect(bad.status).toBe(400);
    expect((await readJson(bad)).error).toMatchObject({ code: 'INVALID_OPTIONS', details: { fields: ['scale'] } });
    expect((await start(api, issued.task_id, { scale: '2' })).status).toBe(202);
    await queuedJobs(api);
  });

  it('refuses a stored size other than the declared one (a PUT whose signed size the backend did not enforce)', async () => {
    const issued = await issueFor(api, Buffer.concat([jpeg, Buffer.alloc(100)]));
    // The embedded backend checks the signed Content-Length: a shorter body is refused there (403) …
    const refused = await fetch(issued.upload.url, {
      method: 'PUT',
      body: new Uint8Array(jpeg),
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(refused.status).toBe(403);
    expect((await start(api, issued.task_id)).status).toBe(409);
    // … and where a store takes it anyway (written here directly at the upload's key), start must notice.
    const key = decodeURIComponent(new URL(issued.upload.url).pathname.split('/').slice(2).join('/'));
    await api.backend.storage.put(key, jpeg, { contentType: 'image/jpeg' });
    const res = await start(api, issued.task_id);
    expect(res.status).toBe(400);
    expect((await readJson(res)).error).toMatchObject({ code: 'INVALID_INPUT', details: { bytes: jpeg.length } });
  });

  it('probes files above MAX_UPLOAD_BYTES from a prefix', async () => {
    const photo = await sharp({
      create: {
        width: 96,
        height: 80,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 40 },
      },
    })
      .png()
      .toBuffer();
    expect(photo.length).toBeGreaterThan(1024);
    const issued = await issueFor(prefixApi, photo, 'image/png', 'noise.png');
    await put(issued, photo);
    const res = await start(prefixApi, issued.task_id);
    expect(res.status).toBe(202);
    expect(must(await createTaskRepository(prefixApi.backend.storage).read(issued.task_id)).input).toMatchObject({
      format: 'png',
      width: 96,
      height: 80,
      bytes: photo.length,
    });
  });

  it('answers 400 for a malformed id and 404 without a pending upload', async () => {
    expect((await start(api, 'x')).status).toBe(400);
    const res = await start(api, newId());
    expect(res.status).toBe(404);
    expect((await readJson(res)).error.code).toBe('NOT_FOUND');
  });
});
