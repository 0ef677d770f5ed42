import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTaskRepository } from '@photoenhance/core';
import { makeClip } from '@photoenhance/video/test-clips';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegFixture, readJson, startTestApi, type TestApi, uploadForm } from '../../harness.ts';

let api: TestApi;
let tight: TestApi;
let dir: string;
let clip: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'api-video-'));
  clip = await readFile(await makeClip(dir, 'basic'));
  [api, tight] = await Promise.all([
    startTestApi({ VIDEO_SEGMENT_FRAMES: '10' }),
    startTestApi({
      VIDEO_MAX_FRAMES: '40',
      VIDEO_MAX_UPLOAD_BYTES: String(clip.length - 1),
      MAX_OUTPUT_PIXELS: '20000',
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([api?.dispose(), tight?.dispose()]);
  await rm(dir, { recursive: true, force: true });
});

const post = (target: TestApi, body: FormData) => target.app.request('/api/v1/videos', { method: 'POST', body });

describe('POST /api/v1/videos', () => {
  it('probes the clip, stores it, plans segments and queues one job per segment', async () => {
    const res = await post(
      api,
      uploadForm(clip, 'My Clip.mp4', { scale: '2', video_crf: '20', quality_level: 'fast' }),
    );
    expect(res.status).toBe(202);
    const body = await readJson(res);
    expect(body.status_url).toBe(`/api/v1/videos/${body.task_id}`);
    const record = await createTaskRepository(api.backend.storage).read(body.task_id);
    expect(record?.video?.output).toMatchObject({ codec: 'h264', crf: 20 });
    expect(record?.video?.segments.map((s) => s.count)).toEqual([10, 10, 10, 9, 9]);
    expect(record?.input).toMatchObject({ filename: 'My_Clip.mp4', bytes: clip.length, width: 64, height: 48 });
    const jobs = await api.backend.queue.receive({ max: 10, waitTimeSeconds: 0 });
    expect(jobs.map((j) => j.job && 'kind' in j.job && j.job.kind)).toEqual(Array(5).fill('video-segment'));
    const status = await readJson(await api.app.request(`/api/v1/videos/${body.task_id}`));
    expect(status).toMatchObject({
      status: 'queued',
      frames_done: 0,
      frames_total: 48,
      segments_total: 5,
      input: { frames: 48, frame_rate: '24/1', variable_frame_rate: false, audio_streams: 1 },
    });
    expect(JSON.stringify(status)).not.toContain('frameTimes');
  });

  it.each([
    ['text', () => uploadForm(Buffer.from('not a video at all\n'.repeat(20)), 'a.mp4'), 415, 'UNSUPPORTED_FORMAT'],
    ['a cut clip', () => uploadForm(clip.subarray(0, 4000), 'cut.mp4'), 422, 'CORRUPT_VIDEO'],
    ['a bad CRF', () => uploadForm(clip, 'a.mp4', { video_crf: '99' }), 400, 'INVALID_OPTIONS'],
  ])('refuses %s with a clear error, storing and queueing nothing', async (_what, form, status, code) => {
    const before = await api.snapshot();
    const res = await post(api, form());
    expect(res.status).toBe(status);
    expect((await readJson(res)).error.code).toBe(code);
    expect(await api.snapshot()).toEqual(before);
  });

  it('refuses a clip over the frame, byte and output limits', async () => {
    const before = await tight.snapshot();
    const big = await post(tight, uploadForm(clip, 'a.mp4'));
    expect(big.status).toBe(413);
    expect(await tight.snapshot()).toEqual(before);
    const strict = await startTestApi({ VIDEO_MAX_FRAMES: '40', MAX_OUTPUT_PIXELS: '20000' });
    try {
      const long = await post(strict, uploadForm(clip, 'a.mp4', { scale: '1' }));
      expect(long.status).toBe(422);
      expect((await readJson(long)).error).toMatchObject({
        code: 'VIDEO_TOO_LONG',
        message: expect.stringContaining('VIDEO_MAX_FRAMES'),
      });
      const strict2 = await startTestApi({ MAX_OUTPUT_PIXELS: '20000' });
      try {
        const wide = await post(strict2, uploadForm(clip, 'a.mp4', { scale: '4' }));
        expect(wide.status).toBe(422);
        expect((await readJson(wide)).error.code).toBe('OUTPUT_TOO_LARGE');
        expect((await strict2.snapshot()).keys).toEqual([]);
      } finally {
        await strict2.dispose();
      }
    } finally {
      await strict.dispose();
    }
  });
});

describe('GET and DELETE /api/v1/videos/{id}', () => {
  it('answers 404 for an unknown id, and DELETE removes the clip and cancels', async () => {
    const res = await post(api, uploadForm(clip, 'c.mp4'));
    const { task_id } = await readJson(res);
    const unknown = await api.app.request('/api/v1/videos/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    const del = await api.app.request(`/api/v1/videos/${task_id}`, { method: 'DELETE' });
    expect(await readJson(del)).toMatchObject({ status: 'cancelled' });
    const keys = (await api.snapshot()).keys.filter((k) => k.includes(task_id));
    expect(keys.filter((k) => !k.startsWith('tasks/'))).toEqual([]);
    const after = await readJson(await api.app.request(`/api/v1/videos/${task_id}`));
    expect(after.status).toBe('cancelled');
  });
});

describe('videos and tenants', () => {
  it("answers another tenant's video exactly like an unknown id, and records the owner, never the key", async () => {
    const [keyA, keyB] = ['video-key-a-0123456789', 'video-key-b-0123456789'];
    const keyed = await startTestApi({ API_KEYS: `${keyA},${keyB}`, VIDEO_SEGMENT_FRAMES: '24' });
    try {
      const as = (key: string) => ({ Authorization: `Bearer ${key}` });
      const res = await keyed.app.request('/api/v1/videos', {
        method: 'POST',
        body: uploadForm(clip, 'mine.mp4', { quality_level: 'fast' }),
        headers: as(keyA),
      });
      expect(res.status).toBe(202);
      const { task_id: taskId } = await readJson(res);
      const record = await createTaskRepository(keyed.backend.storage).read(taskId);
      expect(record?.owner).toMatch(/^key_[0-9a-f]{24}$/);
      expect(JSON.stringify(record)).not.toContain(keyA);

      expect((await keyed.app.request(`/api/v1/videos/${taskId}`, { headers: as(keyA) })).status).toBe(200);
      const unknown = '00000000-0000-4000-8000-000000000000';
      for (const method of ['GET', 'DELETE']) {
        const theirs = await keyed.app.request(`/api/v1/videos/${taskId}`, { method, headers: as(keyB) });
        const missing = await keyed.app.request(`/api/v1/videos/${unknown}`, { method, headers: as(keyB) });
        expect(theirs.status, method).toBe(404);
        expect(missing.status, method).toBe(404);
        expect((await readJson(theirs)).error.code).toBe((await readJson(missing)).error.code);
      }
      // B's DELETE touched nothing: A's clip and record are still there.
      expect(await createTaskRepository(keyed.backend.storage).read(taskId)).not.toBeNull();
    } finally {
      await keyed.dispose();
    }
  });
});

describe('videos and MAX_ACTIVE_TASKS_PER_KEY', () => {
  it('counts an active video like an active photo until it ends', async () => {
    const key = 'video-quota-key-0123456789';
    const keyed = await startTestApi({ API_KEYS: key, MAX_ACTIVE_TASKS_PER_KEY: '2', VIDEO_SEGMENT_FRAMES: '24' });
    try {
      const headers = { Authorization: `Bearer ${key}` };
      const photo = await jpegFixture(32, 24);
      const enhance = () =>
        keyed.app.request('/api/v1/enhance', { method: 'POST', body: uploadForm(photo, 'p.jpg'), headers });
      const video = () =>
        keyed.app.request('/api/v1/videos', { method: 'POST', body: uploadForm(clip, 'v.mp4'), headers });
      expect((await enhance()).status).toBe(200);
      const first = await video();
      expect(first.status).toBe(202);
      const { task_id: videoId } = await readJson(first);

      // One photo + one video active = the limit: a video and a photo are both refused, and nothing is stored.
      const before = await keyed.snapshot();
      for (const over of [await video(), await enhance()]) {
        expect(over.status).toBe(429);
        const { error } = await readJson(over);
        expect(error.code).toBe('QUOTA_EXCEEDED');
        expect(error.details).toMatchObject({ limit: 'MAX_ACTIVE_TASKS_PER_KEY', max: 2, active: 2 });
      }
      expect(await keyed.snapshot()).toEqual(before);

      // The video ends (its assemble job writes completed): its slot is free again.
      const tasks = createTaskRepository(keyed.backend.storage);
      const record = await tasks.read(videoId);
      if (!record) throw new Error('video record missing');
      const at = new Date().toISOString();
      await tasks.write({
        ...record,
        status: 'completed',
        stage: 'done',
        progress: 100,
        completedAt: at,
        updatedAt: at,
      });
      // The quota trusts a task it saw unfinished for RECHECK_MS (2 s) before reading its record again.
      await sleep(2100);
      expect((await enhance()).status).toBe(200);
      expect((await video()).status).toBe(429);
    } finally {
      await keyed.dispose();
    }
  });
});
