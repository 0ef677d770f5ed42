import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadResult, pollStatus, uploadImage } from '../harness/client.ts';
import { createTestEngine, FAST_FORM } from '../harness/engine.ts';
import { storageWithFailingDownloads } from '../harness/faults.ts';
import { pngWithCorruptPixels, testPhoto } from '../harness/images.ts';
import { type Stack, startStack } from '../harness/stack.ts';

let stack: Stack;
const engine = createTestEngine();
beforeAll(async () => {
  stack = await startStack({ maxReceiveCount: 2 });
});
afterAll(async () => {
  await stack?.stop();
  await engine.close();
});

describe('end to end: upload → worker → download', () => {
  it('runs the seed client flow and returns a valid image of the requested size', async () => {
    const worker = await stack.startWorker({ engine });
    const upload = await uploadImage(
      stack.apiUrl,
      await testPhoto(48, 32),
      { ...FAST_FORM, tile_size: '32', scale: '2' },
      'holiday.png',
    );
    expect(upload.status).toBe(200);
    const taskId = upload.body.task_id as string;

    const { final, seen } = await pollStatus(stack.apiUrl, taskId, { until: ['completed', 'failed'] });
    await worker.stop();
    expect(final.status).toBe('completed');
    expect(final.progress).toBe(1);
    expect(final.percent).toBe(100);
    expect(final.attempts).toBe(1);
    expect(seen[0]?.status).toMatch(/queued|processing|completed/);
    expect(final.result).toMatchObject({ filename: 'holiday_enhanced.png', width: 96, height: 64, format: 'png' });

    const { blob } = await downloadResult(stack.apiUrl, final.result?.download_url ?? upload.body.download_url ?? '');
    const bytes = Buffer.from(await blob.arrayBuffer());
    expect(bytes.length).toBe(final.result?.bytes);
    const meta = await sharp(bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 96, 64]);
    // Exactly one result object under the task's output prefix.
    expect((await stack.backend.storage.list(`outputs/${taskId}/`)).map((o) => o.key)).toEqual([
      `outputs/${taskId}/holiday_enhanced.png`,
    ]);
    expect(worker.outcomes).toEqual(['completed']);
  });

  it('fails an image the engine cannot decode once, without retrying it', async () => {
    const upload = await uploadImage(stack.apiUrl, await pngWithCorruptPixels(32, 32), { ...FAST_FORM }, 'broken.png');
    expect(upload.status).toBe(200);
    const taskId = upload.body.task_id as string;
    const worker = await stack.startWorker({ engine });
    const { final } = await pollStatus(stack.apiUrl, taskId, { until: ['completed', 'failed'] });
    // Longer than the visibility timeout: a redelivery would have shown up by now.
    await new Promise((r) => setTimeout(r, 3500));
    await worker.stop();
    expect(final.status).toBe('failed');
    expect(final.error_code).toBe('CORRUPT_IMAGE');
    expect(final.attempts).toBe(1);
    expect(worker.outcomes).toEqual(['failed']);
    expect(await stack.backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
    expect(await stack.backend.queue.dlqDepth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('dead-letters a job whose downloads keep failing and reports it EXHAUSTED', async () => {
    const upload = await uploadImage(stack.apiUrl, await testPhoto(16, 16), { ...FAST_FORM });
    const taskId = upload.body.task_id as string;
    let faults: ReturnType<typeof storageWithFailingDownloads> | undefined;
    const worker = await stack.startWorker({
      engine,
      wrapStorage: (storage) => {
        faults = storageWithFailingDownloads(storage);
        return faults.storage;
      },
    });
    const { final, seen } = await pollStatus(stack.apiUrl, taskId, {
      until: ['completed', 'failed'],
      timeoutMs: 30_000,
    });
    await worker.stop();
    expect(final.status).toBe('failed');
    expect(final.error_code).toBe('EXHAUSTED');
    expect(final.attempts).toBe(2);
    expect(faults?.attempts()).toBe(2);
    expect(worker.outcomes).toEqual(['retry', 'retry']);
    // While it was being retried, clients saw it as processing, never as failed.
    expect(seen.filter((s) => s.status === 'failed')).toHaveLength(1);
    expect(await stack.backend.queue.dlqDepth()).toMatchObject({ visible: 0, inFlight: 0 });
  });
});
