import { BatchRecordSchema, newId, type TaskRecord } from '@photoenhance/contracts';
import { createTaskRepository, keys } from '@photoenhance/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueNames } from '../../../src/routes/batch/zip-names.ts';
import { jpegFixture, must, pngFixture, readJson, startTestApi, type TestApi } from '../../harness.ts';

let api: TestApi;
let jpeg: Buffer;
let png: Buffer;
beforeAll(async () => {
  [api, jpeg, png] = await Promise.all([
    startTestApi({ BATCH_MAX_FILES: '3' }),
    jpegFixture(64, 48),
    pngFixture(32, 32),
  ]);
});
afterAll(async () => {
  await api?.dispose();
});

function batchForm(files: Array<[Buffer, string]>, fields: Record<string, string> = {}, field = 'files'): FormData {
  const form = new FormData();
  for (const [bytes, name] of files) form.append(field, new File([new Uint8Array(bytes)], name));
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return form;
}

async function postBatch(form: FormData): Promise<Response> {
  return api.app.request('/api/v1/enhance/batch', { method: 'POST', body: form });
}

/** Takes every job message off the queue (they are checked, then discarded). */
async function drainQueue(): Promise<Array<{ taskId: string; batchId?: string; inputKey: string }>> {
  const jobs: Array<{ taskId: string; batchId?: string; inputKey: string }> = [];
  for (;;) {
    const batch = await api.backend.queue.receive({ max: 10, waitTimeSeconds: 0 });
    if (batch.length === 0) return jobs;
    for (const m of batch) {
      jobs.push(must(m.job));
      await api.backend.queue.delete(m.receiptHandle);
    }
  }
}

async function finish(
  taskId: string,
  outcome: 'completed' | 'failed' | 'processing',
  progress = 50,
): Promise<TaskRecord> {
  const record = must(await createTaskRepository(api.backend.storage).read(taskId));
  const now = new Date().toISOString();
  if (outcome === 'processing') {
    return createTaskRepository(api.backend.storage).write({
      ...record,
      status: 'processing',
      stage: 'upscale',
      progress,
      updatedAt: now,
    });
  }
  if (outcome === 'failed') {
    return createTaskRepository(api.backend.storage).write({
      ...record,
      status: 'failed',
      stage: 'failed',
      updatedAt: now,
      completedAt: now,
      error: { code: 'CORRUPT_IMAGE', message: 'bad pixels' },
    });
  }
  const key = keys.output(taskId, record.input.filename, 'png');
  const bytes = Buffer.from(`result of ${taskId}`);
  await api.backend.storage.put(key, bytes, { contentType: 'image/png' });
  return createTaskRepository(api.backend.storage).write({
    ...record,
    status: 'completed',
    stage: 'done',
    progress: 100,
    updatedAt: now,
    completedAt: now,
    result: {
      key,
      filename: key.split('/').pop() ?? '',
      bytes: bytes.length,
      format: 'png',
      width: 64,
      height: 64,
      faces: { detected: 0, restored: 0, skipped: [] },
    },
  });
}

describe('POST /api/v1/enhance/batch', () => {
  it('queues one task and one SQS message per accepted file, reports refused files, writes the batch record', async () => {
    await drainQueue();
    const res = await postBatch(
      batchForm(
        [
          [jpeg, 'a.jpg'],
          [Buffer.from('not an image at all'), 'notes.txt'],
          [png, 'b.png'],
        ],
        { scale: '2', quality_level: 'low' },
      ),
    );
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body.tasks.map((t: { filename: string }) => t.filename)).toEqual(['a.jpg', 'b.png']);
    expect(body.rejected).toEqual([
      { index: 1, filename: 'notes.txt', error: { code: 'UNSUPPORTED_FORMAT', message: expect.any(String) } },
    ]);
    expect(body.status_url).toBe(`/api/v1/batch/status/${body.batch_id}`);
    expect(body.download_url).toBe(`/api/v1/batch/download/${body.batch_id}`);
    expect(body.events_url).toBe(`/api/v1/batch/events/${body.batch_id}`);

    const stored = must(
      await api.backend.storage.readJson(keys.batchRecord(body.batch_id), (v) => BatchRecordSchema.parse(v)),
    );
    expect(stored.taskIds).toEqual(body.tasks.map((t: { task_id: string }) => t.task_id));
    expect(stored.rejected).toHaveLength(1);
    for (const taskId of stored.taskIds) {
      const record = must(await createTaskRepository(api.backend.storage).read(taskId));
      expect(record).toMatchObject({
        batchId: body.batch_id,
        status: 'queued',
        options: { scale: 2, quality: 'fast' },
      });
      expect(await api.backend.storage.head(record.input.key)).not.toBeNull();
    }
    const jobs = await drainQueue();
    expect(jobs.map((j) => j.taskId).sort()).toEqual([...stored.taskIds].sort());
    expect(jobs.every((j) => j.batchId === body.batch_id)).toBe(true);
  });

  it('accepts files[] and a repeated file field too', async () => {
    for (const field of ['files[]', 'file']) {
      const res = await postBatch(
        batchForm(
          [
            [jpeg, 'x.jpg'],
            [png, 'y.png'],
          ],
          {},
          field,
        ),
      );
      expect(res.status).toBe(200);
      expect((await readJson(res)).tasks).toHaveLength(2);
    }
    await drainQueue();
  });

  it.each([
    [
      'more files than BATCH_MAX_FILES',
      () =>
        batchForm([
          [jpeg, '1.jpg'],
          [jpeg, '2.jpg'],
          [jpeg, '3.jpg'],
          [jpeg, '4.jpg'],
        ]),
      400,
      'INVALID_INPUT',
    ],
    ['no files', () => batchForm([], { scale: '2' }), 400, 'INVALID_INPUT'],
    ['an invalid shared option', () => batchForm([[jpeg, '1.jpg']], { scale: '99' }), 400, 'INVALID_OPTIONS'],
    [
      'only non-images',
      () =>
        batchForm([
          [Buffer.from('hello'), 'a.txt'],
          [Buffer.from('world'), 'b.txt'],
        ]),
      415,
      'UNSUPPORTED_FORMAT',
    ],
  ])('refuses %s and stores nothing', async (_what, form, status, code) => {
    const before = await api.snapshot();
    const res = await postBatch(form());
    expect(res.status).toBe(status);
    expect((await readJson(res)).error.code).toBe(code);
    expect(await api.snapshot()).toEqual(before);
  });

  it('refuses a body that is not multipart', async () => {
    const res = await api.app.request('/api/v1/enhance/batch', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
  });
});

describe('GET /api/v1/batch/status/{id}', () => {
  it('aggregates the task records as they move, ending partial when one failed', async () => {
    const res = await postBatch(
      batchForm([
        [jpeg, 'one.jpg'],
        [png, 'two.png'],
      ]),
    );
    const { batch_id: batchId, tasks } = await readJson(res);
    await drainQueue();
    const [first, second] = tasks.map((t: { task_id: string }) => t.task_id) as [string, string];
    const status = async () => readJson(await api.app.request(`/api/v1/batch/status/${batchId}`));

    expect(await status()).toMatchObject({
      status: 'queued',
      progress: 0,
      percent: 0,
      total: 2,
      counts: { queued: 2 },
    });
    await finish(first, 'processing', 40);
    expect(await status()).toMatchObject({
      status: 'processing',
      progress: 0.2,
      percent: 20,
      counts: { queued: 1, processing: 1 },
    });
    await finish(first, 'completed');
    const mid = await status();
    expect(mid).toMatchObject({
      status: 'processing',
      progress: 0.5,
      percent: 50,
      counts: { completed: 1, queued: 1 },
    });
    expect(mid.sub_tasks[0]).toMatchObject({
      task_id: first,
      status: 'completed',
      download_url: `/api/v1/download/${first}`,
    });
    await finish(second, 'failed');
    const done = await status();
    expect(done).toMatchObject({
      status: 'partial_completed',
      progress: 1,
      percent: 100,
      total_files: 2,
      completed_files: 1,
      failed_files: 1,
      counts: { completed: 1, failed: 1 },
    });
    expect(done.sub_tasks[1]).toMatchObject({ status: 'failed', error_code: 'CORRUPT_IMAGE' });
    expect(typeof done.sub_tasks[1].error).toBe('string');
    expect(done.updated_at).toBeGreaterThanOrEqual(done.created_at);
    expect(Date.parse(done.updated_at_iso)).toBe(Math.round(done.updated_at * 1000));
  });

  it('counts a task deleted by its owner as deleted, and the batch as finished', async () => {
    const { batch_id: batchId, tasks } = await readJson(
      await postBatch(
        batchForm([
          [jpeg, 'k.jpg'],
          [png, 'l.png'],
        ]),
      ),
    );
    await drainQueue();
    await finish(tasks[0].task_id, 'completed');
    await finish(tasks[1].task_id, 'completed');
    expect((await api.app.request(`/api/v1/tasks/${tasks[1].task_id}`, { method: 'DELETE' })).status).toBe(200);
    const status = await readJson(await api.app.request(`/api/v1/batch/status/${batchId}`));
    expect(status).toMatchObject({ status: 'partial_completed', counts: { completed: 1, deleted: 1 } });
    expect(status.sub_tasks[1]).toMatchObject({ task_id: tasks[1].task_id, status: 'deleted' });
    expect((await api.app.request(`/api/v1/batch/download/${batchId}`)).status).toBe(200);
  });

  it('answers 400 for a malformed id and 404 for an unknown batch', async () => {
    expect((await api.app.request('/api/v1/batch/status/nope')).status).toBe(400);
    expect((await api.app.request(`/api/v1/batch/status/${newId()}`)).status).toBe(404);
    expect((await api.app.request(`/api/v1/batch/download/${newId()}`)).status).toBe(404);
  });
});

describe('GET /api/v1/batch/download/{id}', () => {
  it('answers 409 while tasks run, and zips what has finished with ?partial=true', async () => {
    const { batch_id: batchId, tasks } = await readJson(
      await postBatch(
        batchForm([
          [jpeg, 'p.jpg'],
          [png, 'q.png'],
        ]),
      ),
    );
    await drainQueue();
    await finish(tasks[0].task_id, 'completed');
    const early = await api.app.request(`/api/v1/batch/download/${batchId}`);
    expect(early.status).toBe(409);
    expect((await readJson(early)).error).toMatchObject({ code: 'CONFLICT', details: { unfinished: 1 } });

    const partial = await api.app.request(`/api/v1/batch/download/${batchId}?partial=true`);
    expect(partial.status).toBe(200);
    expect(partial.headers.get('content-type')).toBe('application/zip');
    expect(partial.headers.get('content-disposition')).toBe(`attachment; filename="batch-${batchId}.zip"`);
    const zip = Buffer.from(await partial.arrayBuffer());
    // Local file header magic, the stored result bytes verbatim (store mode), and the manifest naming the pending task.
    expect(zip.subarray(0, 4).toString('hex')).toBe('504b0304');
    expect(zip.includes(Buffer.from(`result of ${tasks[0].task_id}`))).toBe(true);
    expect(zip.includes(Buffer.from('manifest.json'))).toBe(true);
  });
});

describe('uniqueNames', () => {
  it('keeps the first name and numbers later ones, case-insensitively, never taking manifest.json', () => {
    expect(uniqueNames(['a.png', 'A.png', 'a.png', 'a-2.png', 'manifest.json', 'noext', 'noext'])).toEqual([
      'a.png',
      'A-2.png',
      'a-3.png',
      'a-2-2.png',
      'manifest-2.json',
      'noext',
      'noext-2',
    ]);
  });

  it('makes every record name safe before it becomes an entry: no paths, no parent directories', () => {
    expect(uniqueNames(['../../etc/evil.png', '/abs/x.jpg', 'dir\\win.png', '..', 'ok.png'])).toEqual([
      'evil.png',
      'x.jpg',
      'win.png',
      'result',
      'ok.png',
    ]);
  });
});
