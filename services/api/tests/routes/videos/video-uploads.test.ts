import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTaskRepository, keys } from '@photoenhance/core';
import { makeClip } from '@photoenhance/video/test-clips';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startTestApi, type TestApi } from '../../harness.ts';

const [KEY_A, KEY_B] = ['video-upload-key-a-0123456789', 'video-upload-key-b-0123456789'];
let api: TestApi;
let dir: string;
let clip: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'api-video-upload-'));
  clip = await readFile(await makeClip(dir, 'basic', { seconds: 1 }));
  api = await startTestApi({
    API_KEYS: `${KEY_A},${KEY_B}`,
    VIDEO_SEGMENT_FRAMES: '8',
    VIDEO_MAX_UPLOAD_BYTES: String(clip.length * 4),
  });
});
afterAll(async () => {
  await api?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const as = (key: string) => ({ Authorization: `Bearer ${key}`, 'content-type': 'application/json' });

interface Issued {
  task_id: string;
  upload: { url: string; headers: Record<string, string> };
  start_url: string;
}

async function issue(bytes: Buffer, key = KEY_A, contentType = 'video/mp4'): Promise<Issued> {
  const res = await api.app.request('/api/v1/videos/uploads', {
    method: 'POST',
    headers: as(key),
    body: JSON.stringify({ filename: 'big clip.mp4', content_type: contentType, size: bytes.length }),
  });
  expect(res.status).toBe(201);
  return readJson(res);
}

/** The client's PUT straight to storage, with the headers the API said to send. */
async function put(issued: Issued, bytes: Buffer): Promise<void> {
  const { 'content-length': _length, ...headers } = issued.upload.headers;
  const res = await fetch(issued.upload.url, { method: 'PUT', body: new Uint8Array(bytes), headers });
  expect(res.status).toBe(200);
}

const start = (taskId: string, body: Record<string, unknown> = {}, key = KEY_A) =>
  api.app.request(`/api/v1/videos/${taskId}/start`, { method: 'POST', headers: as(key), body: JSON.stringify(body) });

describe('video direct upload: POST /api/v1/videos/uploads → PUT → POST /api/v1/videos/{id}/start', () => {
  it('probes the stored clip in storage and queues its segments once, even when two starts race', async () => {
    const issued = await issue(clip);
    expect(issued.start_url).toBe(`/api/v1/videos/${issued.task_id}/start`);
    expect((await start(issued.task_id)).status).toBe(409); // not uploaded yet
    await put(issued, clip);

    const before = (await api.snapshot()).queued;
    const answers = await Promise.all([
      start(issued.task_id, { scale: 2, video_crf: 20, smooth_faces: false }),
      start(issued.task_id, { scale: 2, video_crf: 20, smooth_faces: false }),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([202, 409]);
    const accepted = await readJson(answers.find((r) => r.status === 202) as Response);
    expect(accepted).toMatchObject({ task_id: issued.task_id, status_url: `/api/v1/videos/${issued.task_id}` });

    const record = await createTaskRepository(api.backend.storage).read(issued.task_id);
    expect(record?.owner).toMatch(/^key_[0-9a-f]{24}$/);
    expect(record?.video).toMatchObject({ framesTotal: 24, smoothFaces: false, output: { crf: 20 } });
    expect(record?.options.scale).toBe(2);
    expect(record?.video?.segments).toHaveLength(3);
    expect((await api.snapshot()).queued - before).toBe(3); // one job per segment, from one start only
    const left = (await api.snapshot()).keys.filter((k) => k.startsWith('uploads/') && k.includes(issued.task_id));
    expect(left).toEqual([]);
    const status = await api.app.request(`/api/v1/videos/${issued.task_id}`, { headers: as(KEY_A) });
    expect(await readJson(status)).toMatchObject({ status: 'queued', frames_total: 24, segments_total: 3 });
  });

  it("answers another tenant's start like an unknown upload, and a photo start is pointed to the video route", async () => {
    const issued = await issue(clip);
    await put(issued, clip);
    const theirs = await start(issued.task_id, {}, KEY_B);
    const unknown = await start('00000000-0000-4000-8000-000000000000', {}, KEY_B);
    expect(theirs.status).toBe(404);
    const unknownError = (await readJson(unknown)).error;
    expect((await readJson(theirs)).error).toEqual({
      ...unknownError,
      message: unknownError.message.replace('00000000-0000-4000-8000-000000000000', issued.task_id),
    });
    const asPhoto = await api.app.request(`/api/v1/tasks/${issued.task_id}/start`, {
      method: 'POST',
      headers: as(KEY_A),
    });
    expect(asPhoto.status).toBe(409);
    expect((await readJson(asPhoto)).error.message).toContain(`/api/v1/videos/${issued.task_id}/start`);
    // Neither touched the upload: its owner still starts it.
    expect((await start(issued.task_id)).status).toBe(202);
  });

  it('refuses what is not a video (415) and removes the stored object and the pending upload', async () => {
    const text = Buffer.from('not a video at all\n'.repeat(50));
    const issued = await issue(text);
    await put(issued, text);
    const res = await start(issued.task_id);
    expect(res.status).toBe(415);
    expect((await readJson(res)).error.code).toBe('UNSUPPORTED_FORMAT');
    expect(JSON.stringify(await readJson(await start(issued.task_id)))).not.toContain('X-Amz');
    const left = (await api.snapshot()).keys.filter((k) => k.includes(issued.task_id));
    expect(left).toEqual([]);
    expect(await api.backend.storage.head(keys.input(issued.task_id, 'big_clip.mp4'))).toBeNull();
  });

  it('refuses an upload over VIDEO_MAX_UPLOAD_BYTES (413) and a type that is not a video (400)', async () => {
    const big = await api.app.request('/api/v1/videos/uploads', {
      method: 'POST',
      headers: as(KEY_A),
      body: JSON.stringify({ filename: 'a.mp4', content_type: 'video/mp4', size: clip.length * 4 + 1 }),
    });
    expect(big.status).toBe(413);
    const photo = await api.app.request('/api/v1/videos/uploads', {
      method: 'POST',
      headers: as(KEY_A),
      body: JSON.stringify({ filename: 'a.jpg', content_type: 'image/jpeg', size: 100 }),
    });
    expect(photo.status).toBe(400);
  });
});
