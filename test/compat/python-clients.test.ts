/**
 * PhotoEnhanceAI's Python clients (its httpx test client, the requests stream test, the aiohttp performance
 * tests), replayed against this API on the embedded backend with a real worker: exact status codes, field
 * names, types and units, query-parameter options, downloads without following redirects, the batch flow.
 */
import { randomUUID } from 'node:crypto';
import type { WorkerAnnouncementInput } from '@photoenhance/contracts';
import { createTaskRepository, signatureHeaders } from '@photoenhance/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEngine } from '../harness/engine.ts';
import { pngWithCorruptPixels, testPhoto } from '../harness/images.ts';
import { type Stack, startStack, type WorkerHandle } from '../harness/stack.ts';
import { readZip } from '../harness/zip.ts';
import { SeedClient, type SeedFile } from './seed-client.ts';

const SECRET = 'compat-test-registration-secret';
let stack: Stack;
let client: SeedClient;
let worker: WorkerHandle | undefined;
const engine = createTestEngine();

beforeAll(async () => {
  stack = await startStack({ apiEnv: { WORKER_REGISTRATION_SECRET: SECRET } });
  client = new SeedClient(stack.apiUrl);
});
afterAll(async () => {
  await worker?.stop();
  await stack?.stop();
  await engine.close();
});

async function photo(name: string, width = 24, height = 16): Promise<SeedFile> {
  return { name, bytes: await testPhoto(width, height), type: 'image/png' };
}

/** Epoch seconds (PhotoEnhanceAI's time.time()), not milliseconds and not ISO text. */
function expectEpochSeconds(value: unknown): void {
  expect(typeof value).toBe('number');
  expect(Math.abs((value as number) - Date.now() / 1000)).toBeLessThan(600);
}

function expectDetail(body: unknown, status: number): string {
  const { detail, error } = body as { detail: unknown; error: { code: unknown; message: unknown } };
  expect(typeof detail, `detail of a ${status}`).toBe('string');
  expect((detail as string).length).toBeGreaterThan(0);
  expect(error.message).toBe(detail);
  expect(typeof error.code).toBe('string');
  return detail as string;
}

const records = () => createTaskRepository(stack.backend.storage);

describe("PhotoEnhanceAI's clients, unchanged but for the base URL", () => {
  it('takes tile_size and quality_level as query parameters, and a form field over the query parameter', async () => {
    const fromQuery = await client.enhance(await photo('q.png'), { tile_size: '256', quality_level: 'fast' });
    expect(fromQuery.status).toBe(200);
    const queryRecord = await records().read(fromQuery.body.task_id);
    expect(queryRecord?.options).toMatchObject({ tileSize: 256, quality: 'fast' });

    const both = await client.enhance(
      await photo('both.png'),
      { tile_size: '256', quality_level: 'fast' },
      { tile_size: '400', quality_level: 'medium' },
    );
    expect(both.status).toBe(200);
    expect((await records().read(both.body.task_id))?.options).toMatchObject({ tileSize: 400, quality: 'medium' });

    // An option out of range in the query is refused like one in the form: 400 with FastAPI's detail.
    const bad = await client.enhance(await photo('bad.png'), { quality_level: 'ultra' });
    expect(bad.status).toBe(400);
    expect(expectDetail(bad.body, 400)).toMatch(/quality_level/);

    // Not finished yet (no worker runs): the download is refused, the client sees a non-200 and the detail.
    const early = await client.download(fromQuery.body.task_id);
    expect(early.status).toBe(409);
    expectDetail(early.body, 409);
    for (const id of [fromQuery.body.task_id, both.body.task_id]) {
      const deleted = await client.delete(id);
      expect(deleted.status).toBe(200);
      expect(typeof deleted.body.message).toBe('string');
    }
  });

  it('answers errors with a detail string beside the structured error', async () => {
    const noFile = await client.request('/api/v1/enhance', { method: 'POST', body: new FormData() });
    expect(noFile.status).toBe(400);
    expectDetail(noFile.body, 400);
    const text = await client.enhance({
      name: 'notes.txt',
      bytes: Buffer.from('not an image at all'),
      type: 'text/plain',
    });
    expect(text.status).toBe(415);
    expectDetail(text.body, 415);
    const unknown = await client.status(randomUUID());
    expect(unknown.status).toBe(404);
    expect(expectDetail(unknown.body, 404)).toMatch(/No task/);
    expect((await client.delete(randomUUID())).status).toBe(404);
  });

  it('GET /health and GET / answer what its test clients read', async () => {
    const health = await client.request<Record<string, unknown>>('/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('healthy');
    expectEpochSeconds(health.body.timestamp);
    expect(Number.isInteger(health.body.active_tasks)).toBe(true);
    // No worker registered yet: nothing initialised, no device.
    expect(health.body.model_status).toEqual({ initialized: false, cuda_available: false, device: 'none' });

    const root = await client.request<Record<string, unknown>>('/');
    expect(root.status).toBe(200);
    expect(root.body).toMatchObject({ status: 'running', service: expect.any(String), version: expect.any(String) });
    expect(root.body.endpoints).toMatchObject({
      health: '/health',
      docs: '/docs',
      enhance: expect.stringContaining('/api/v1/enhance'),
      status: expect.stringContaining('/api/v1/status/{task_id}'),
      download: expect.stringContaining('/api/v1/download/{task_id}'),
    });
  });

  it("reports the registered workers' models in model_status", async () => {
    const body = JSON.stringify({
      event: 'register',
      nonce: randomUUID(),
      sentAt: new Date().toISOString(),
      worker: {
        workerId: 'compat-cpu-worker',
        version: '0.1.0',
        providers: ['cpu'],
        activeProvider: 'cpu',
        capacity: 1,
        state: 'idle',
        startedAt: new Date().toISOString(),
      },
    } satisfies WorkerAnnouncementInput);
    const registered = await fetch(`${stack.apiUrl}/api/v1/workers/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signatureHeaders(SECRET, body) },
      body,
    });
    expect(registered.status).toBe(200);
    // /health caches its reads for up to 2 s (it must answer at once while storage hangs).
    await expect
      .poll(async () => (await client.request<{ model_status: unknown }>('/health')).body.model_status, {
        timeout: 5000,
        interval: 250,
      })
      .toEqual({ initialized: true, cuda_available: false, device: 'cpu' });
  });

  it('runs the single-photo client: 200 on upload, progress as a fraction, 200 with the file on download', async () => {
    worker = await stack.startWorker({ engine });
    const upload = await client.enhance(await photo('portrait.png'), { tile_size: '256', quality_level: 'fast' });
    expect(upload.status).toBe(200);
    expect(Object.keys(upload.body)).toEqual(expect.arrayContaining(['task_id', 'status', 'message', 'created_at']));
    expect(upload.body.status).toBe('queued');
    expect(typeof upload.body.message).toBe('string');
    expectEpochSeconds(upload.body.created_at);

    const { final, printed } = await client.waitForTask(upload.body.task_id);
    expect(final.status).toBe('completed');
    for (const p of printed) expect(p).toBeGreaterThanOrEqual(0);
    for (const p of printed) expect(p).toBeLessThanOrEqual(100);
    expect(final.progress).toBe(1);
    expect(final.error).toBeNull();
    expect(final.result_url).toBe(`/api/v1/download/${upload.body.task_id}`);
    expectEpochSeconds(final.created_at);
    expectEpochSeconds(final.updated_at);
    expect(final.updated_at).toBeGreaterThanOrEqual(final.created_at);
    expect(typeof final.processing_time).toBe('number');
    expect(final.processing_time as number).toBeGreaterThanOrEqual(0);
    expect(final.processing_time as number).toBeLessThan(final.updated_at - final.created_at + 1);

    // Its client does not follow redirects: the download itself must be the 200 with the image.
    const download = await client.download(upload.body.task_id);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(download.headers.get('content-disposition')).toContain('portrait_enhanced.png');
    const meta = await sharp(download.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 96, 64]);
    // The presigned link is still there for those who want it: as JSON, or as an opt-in redirect.
    const link = await client.request<{ url: string }>(`/api/v1/download/${upload.body.task_id}?redirect=false`);
    expect(link.status).toBe(200);
    expect(link.body.url).toMatch(/^http/);
    const redirect = await client.request(`/api/v1/download/${upload.body.task_id}?redirect=true`);
    expect(redirect.status).toBe(302);
    const presigned = await fetch(redirect.headers.get('location') as string);
    expect(presigned.status).toBe(200);
    expect(Buffer.from(await presigned.arrayBuffer()).equals(download.body)).toBe(true);

    const deleted = await client.delete(upload.body.task_id);
    expect(deleted.status).toBe(200);
    expect(typeof deleted.body.message).toBe('string');
    expect((await client.status(upload.body.task_id)).status).toBe(404);
  });

  it('reports a failed photo with error as text', async () => {
    const bad: SeedFile = { name: 'broken.png', bytes: await pngWithCorruptPixels(24, 16), type: 'image/png' };
    const upload = await client.enhance(bad, { quality_level: 'fast' });
    expect(upload.status).toBe(200);
    const { final } = await client.waitForTask(upload.body.task_id);
    expect(final.status).toBe('failed');
    expect(typeof final.error).toBe('string');
    expect((final.error as string).length).toBeGreaterThan(0);
    expect(final.result_url).toBeNull();
    expect(final.progress as number).toBeLessThanOrEqual(1);
    expect((final as unknown as { error_code: string }).error_code).toBe('CORRUPT_IMAGE');
    expect((await client.download(upload.body.task_id)).status).toBe(409);
  });

  it('runs the batch page flow: batch_task_id → status until partial_completed → ZIP', async () => {
    const files = [
      await photo('one.png'),
      await photo('two.png', 16, 16),
      { name: 'broken.png', bytes: await pngWithCorruptPixels(16, 16), type: 'image/png' },
    ];
    // The batch page's own form fields: tile_size 400, quality_level high (x4plus: fine for these small files).
    const accepted = await client.enhanceBatch(files, { tile_size: '400', quality_level: 'high' });
    expect(accepted.status).toBe(200);
    const { batch_task_id: batchId, sub_tasks: subTasks } = accepted.body;
    expect(typeof batchId).toBe('string');
    expect(accepted.body).toMatchObject({ total_files: 3, status: 'queued', message: expect.any(String) });
    expectEpochSeconds(accepted.body.created_at);
    expect(subTasks).toHaveLength(3);
    for (const id of subTasks) expect(typeof id).toBe('string');

    const { final, seen } = await client.waitForBatch(batchId);
    for (const s of seen) {
      expect(s.progress).toBeGreaterThanOrEqual(0);
      expect(s.progress).toBeLessThanOrEqual(1);
      expect(s.total_files).toBe(3);
    }
    expect(final).toMatchObject({
      batch_task_id: batchId,
      status: 'partial_completed',
      total_files: 3,
      completed_files: 2,
      failed_files: 1,
      progress: 1,
      message: expect.any(String),
    });
    expectEpochSeconds(final.created_at);
    expectEpochSeconds(final.updated_at);
    expect(final.sub_tasks.map((t) => t.task_id)).toEqual(subTasks);
    expect(final.sub_tasks.map((t) => [t.filename, t.status, t.progress])).toEqual([
      ['one.png', 'completed', 1],
      ['two.png', 'completed', 1],
      ['broken.png', 'failed', 1],
    ]);
    expect(final.sub_tasks[0]?.error).toBeNull();
    expect(typeof final.sub_tasks[2]?.error).toBe('string');

    const zip = await client.batchDownload(batchId);
    expect(zip.status).toBe(200);
    expect(zip.headers.get('content-type')).toBe('application/zip');
    expect(readZip(zip.body).map((e) => e.name)).toEqual(['one_enhanced.png', 'two_enhanced.png', 'manifest.json']);

    // A batch with nothing refused ends `completed`.
    const whole = await client.enhanceBatch([await photo('solo.png', 16, 16)], {}, { quality_level: 'fast' });
    expect(whole.status).toBe(200);
    expect((await records().read(whole.body.sub_tasks[0] as string))?.options.quality).toBe('fast');
    expect((await client.waitForBatch(whole.body.batch_task_id)).final).toMatchObject({
      status: 'completed',
      completed_files: 1,
      failed_files: 0,
    });
  });
});
