import { randomBytes } from 'node:crypto';
import { createTaskRepository, keys } from '@photoenhance/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegFixture, must, pngFixture, readJson, startTestApi, type TestApi, uploadForm } from '../../harness.ts';

let api: TestApi;
let tight: TestApi;
let jpeg: Buffer;
beforeAll(async () => {
  [api, tight, jpeg] = await Promise.all([
    startTestApi(),
    startTestApi({ MAX_UPLOAD_BYTES: '20000', MAX_INPUT_PIXELS: '5000', MAX_OUTPUT_PIXELS: '100000' }),
    jpegFixture(64, 48),
  ]);
});
afterAll(async () => {
  await Promise.all([api?.dispose(), tight?.dispose()]);
});

async function post(target: TestApi, body: RequestInit['body'], headers?: Record<string, string>) {
  return target.app.request('/api/v1/enhance', { method: 'POST', body, ...(headers ? { headers } : {}) });
}

/** Serialises a form so the request carries Content-Length (the non-streaming body-limit path). */
async function withLength(form: FormData): Promise<{ body: ArrayBuffer; headers: Record<string, string> }> {
  const req = new Request('http://x/', { method: 'POST', body: form });
  const body = await req.arrayBuffer();
  return {
    body,
    headers: { 'content-type': must(req.headers.get('content-type')), 'content-length': String(body.byteLength) },
  };
}

describe('POST /api/v1/enhance', () => {
  it.each([
    ['scale', '0x10'],
    ['scale', '0o7'],
    ['scale', '0b11'],
    ['scale', '1e1'],
    ['scale', 'Infinity'],
    ['output_quality', '0x50'],
    ['tile_size', '1e2'],
    ['face_blend', '5e-1'],
    ['face_model', 'x.onnx'],
    ['face_model', 'GFPGAN.ONNX'],
  ])('refuses %s=%s with 400 INVALID_OPTIONS naming the field, storing nothing', async (field, value) => {
    const before = await api.snapshot();
    const res = await post(api, uploadForm(jpeg, 'a.jpg', { [field]: value }));
    expect(res.status).toBe(400);
    const body = await readJson(res);
    expect(body.error.code).toBe('INVALID_OPTIONS');
    expect(body.error.message.startsWith(`${field}:`)).toBe(true);
    expect(await api.snapshot()).toEqual(before);
  });

  it('stores the input, writes a queued record and enqueues a message carrying keys only', async () => {
    const res = await post(
      api,
      uploadForm(jpeg, 'My Portrait.jpg', { tile_size: '400', quality_level: 'high', scale: '2', face_blend: '0.7' }),
    );
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body).toMatchObject({
      status: 'queued',
      status_url: `/api/v1/status/${body.task_id}`,
      download_url: `/api/v1/download/${body.task_id}`,
    });
    expect(res.headers.get('location')).toBe(body.status_url);

    const record = must(await createTaskRepository(api.backend.storage).read(body.task_id), 'task record');
    expect(record).toMatchObject({
      status: 'queued',
      progress: 0,
      attempts: 0,
      input: {
        key: keys.input(body.task_id, 'My_Portrait.jpg'),
        filename: 'My_Portrait.jpg',
        format: 'jpeg',
        contentType: 'image/jpeg',
        width: 64,
        height: 48,
        bytes: jpeg.length,
      },
      options: { scale: 2, quality: 'high', tileSize: 400, face: { blend: 0.7 } },
    });
    expect((await api.backend.storage.getBuffer(record.input.key)).equals(jpeg)).toBe(true);

    const [message] = await api.backend.queue.receive({ waitTimeSeconds: 1 });
    expect(message?.job).toEqual({
      version: 1,
      taskId: body.task_id,
      inputKey: record.input.key,
      options: record.options,
    });
    expect(must(message).body.length).toBeLessThan(2000);
    await api.backend.queue.delete(must(message).receiptHandle);

    const status = await api.app.request(body.status_url);
    expect(status.status).toBe(200);
    expect(await readJson(status)).toMatchObject({
      task_id: body.task_id,
      status: 'queued',
      progress: 0,
      message: 'Task queued',
    });
  });

  it('accepts a PNG with our own fields and seed quality "low" (→ fast)', async () => {
    const res = await post(
      api,
      uploadForm(await pngFixture(), 'a.png', {
        quality_level: 'low',
        face: 'false',
        output_format: 'webp',
        keep_metadata: 'true',
      }),
    );
    expect(res.status).toBe(200);
    const { task_id } = await readJson(res);
    const record = must(await createTaskRepository(api.backend.storage).read(task_id));
    expect(record.options).toMatchObject({
      quality: 'fast',
      face: { enabled: false },
      output: { format: 'webp', keepMetadata: true },
    });
    expect(record.input.format).toBe('png');
    const [message] = await api.backend.queue.receive({ waitTimeSeconds: 1 });
    await api.backend.queue.delete(must(message).receiptHandle);
  });

  const refusals: [string, () => Promise<FormData | string>, number, string, RegExp?][] = [
    [
      'a text file named .jpg',
      async () => uploadForm(Buffer.from('hello, I am not an image\n'.repeat(10)), 'fake.jpg'),
      415,
      'UNSUPPORTED_FORMAT',
    ],
    ['an empty file', async () => uploadForm(Buffer.alloc(0), 'empty.jpg'), 422, 'EMPTY_FILE'],
    [
      'a truncated JPEG',
      async () => uploadForm(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 'cut.jpg'),
      422,
      'CORRUPT_IMAGE',
    ],
    ['no file field', async () => uploadForm(null, '', { scale: '2' }), 400, 'INVALID_INPUT', /file/],
    ['scale 0', async () => uploadForm(jpeg, 'a.jpg', { scale: '0' }), 400, 'INVALID_OPTIONS', /^scale:/],
    ['scale 17', async () => uploadForm(jpeg, 'a.jpg', { scale: '17' }), 400, 'INVALID_OPTIONS', /^scale:/],
    [
      'an unknown quality level',
      async () => uploadForm(jpeg, 'a.jpg', { quality_level: 'ultra' }),
      400,
      'INVALID_OPTIONS',
      /^quality_level:/,
    ],
    [
      'a model path instead of an id',
      async () => uploadForm(jpeg, 'a.jpg', { face_model: '/etc/passwd' }),
      400,
      'INVALID_OPTIONS',
      /^face_model:/,
    ],
    [
      'a bad tile size',
      async () => uploadForm(jpeg, 'a.jpg', { tile_size: 'big' }),
      400,
      'INVALID_OPTIONS',
      /^tile_size:/,
    ],
    ['a JSON body', async () => JSON.stringify({ file: 'x' }), 400, 'INVALID_INPUT'],
  ];
  it.each(refusals)('refuses %s with %i %s and stores nothing', async (_name, makeBody, status, code, message) => {
    const before = await api.snapshot();
    const body = await makeBody();
    const res = await post(api, body, typeof body === 'string' ? { 'content-type': 'application/json' } : undefined);
    expect(res.status).toBe(status);
    const json = await readJson(res);
    expect(json.error.code).toBe(code);
    if (message) expect(json.error.message).toMatch(message);
    expect(JSON.stringify(json)).not.toMatch(/at .*\.ts:\d+/); // no stack traces
    expect(await api.snapshot()).toEqual(before);
  });

  it('refuses an input over MAX_INPUT_PIXELS and an output over MAX_OUTPUT_PIXELS before storing', async () => {
    const before = await tight.snapshot();
    const big = await post(tight, uploadForm(await jpegFixture(100, 100), 'big.jpg'));
    expect(big.status).toBe(422);
    expect((await readJson(big)).error.code).toBe('TOO_MANY_PIXELS');
    const tooScaled = await post(tight, uploadForm(await jpegFixture(60, 60), 'ok.jpg', { scale: '8' }));
    expect(tooScaled.status).toBe(422);
    expect((await readJson(tooScaled)).error).toMatchObject({
      code: 'OUTPUT_TOO_LARGE',
      details: { maxOutputPixels: 100000 },
    });
    expect(await tight.snapshot()).toEqual(before);
  });

  it('answers 413 for a body over the limit, streamed or with Content-Length, and stores nothing', async () => {
    const before = await tight.snapshot();
    const streamed = await post(tight, uploadForm(randomBytes(120_000), 'huge.jpg'));
    expect(streamed.status).toBe(413);
    expect((await readJson(streamed)).error.code).toBe('FILE_TOO_LARGE');

    const sized = await withLength(uploadForm(randomBytes(120_000), 'huge.jpg'));
    const declared = await post(tight, sized.body, sized.headers);
    expect(declared.status).toBe(413);

    // Just over the file limit but within the multipart allowance: caught by the exact file-size check.
    const edge = await post(tight, uploadForm(randomBytes(20_001), 'edge.jpg'));
    expect(edge.status).toBe(413);
    expect(await tight.snapshot()).toEqual(before);
  });
});
