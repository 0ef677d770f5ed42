import { PhotoEnhanceError } from '@photoenhance/contracts';
import { createTaskRepository, keys } from '@photoenhance/core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { reapDeadLetters } from '../src/dlq-reaper.ts';
import { countRecordRequests } from './fencing-scenarios.ts';
import {
  pngImage,
  silentLogger,
  startTestWorker,
  submitTask,
  useTestBackend,
  waitFor,
  waitForStatus,
} from './support.ts';

const stack = useTestBackend();

describe('worker', () => {
  it('writes progress at most once per PROGRESS_MIN_INTERVAL_MS and always the final state', async () => {
    const backend = await stack.connect();
    const short = await submitTask(backend, await pngImage(8, 8), { scale: 2 });
    const { storage, counts } = countRecordRequests(backend.storage);
    // A ~0.6 s job under a 10 s interval: the claim and the final state are the only record writes.
    const a = startTestWorker(
      { storage, queue: backend.queue },
      { steps: 6, stepMs: 100 },
      { progressIntervalMs: 10_000 },
    );
    await waitFor(async () => a.outcomes.length === 1);
    await a.worker.stop();
    expect((await createTaskRepository(backend.storage).read(short))?.status).toBe('completed');
    expect(counts.writes).toBe(2);

    // A ~1.5 s job under a 400 ms interval: claim, at most one progress write per 400 ms, final state.
    const long = await submitTask(backend, await pngImage(8, 8), { scale: 2 });
    counts.writes = 0;
    const b = startTestWorker(
      { storage, queue: backend.queue },
      { steps: 15, stepMs: 100 },
      { progressIntervalMs: 400 },
    );
    const started = Date.now();
    await waitFor(async () => b.outcomes.length === 1);
    const seconds = (Date.now() - started) / 1000;
    await b.worker.stop();
    expect((await createTaskRepository(backend.storage).read(long))?.status).toBe('completed');
    expect(counts.writes).toBeGreaterThanOrEqual(3);
    expect(counts.writes).toBeLessThanOrEqual(2 + Math.ceil(seconds / 0.4));
  });

  it('processes a job: progress on the record, output at the deterministic key, message acknowledged', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(24, 16), { scale: 2 }, 'my photo.png');
    const { worker, outcomes } = startTestWorker(backend, { steps: 6, stepMs: 100 });
    const seen = await waitForStatus(backend.storage, taskId, ['processing']);
    expect(seen.workerId).toMatch(/^test-/);
    const midway = await waitFor(async () => {
      const r = await createTaskRepository(backend.storage).read(taskId);
      return r && r.status === 'processing' && r.progress > 0 ? r : undefined;
    });
    expect(midway.stage).toBe('upscale');

    const done = await waitForStatus(backend.storage, taskId, ['completed', 'failed']);
    await worker.stop();
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(1);
    expect(done.progress).toBe(100);
    expect(done.result?.key).toBe(`outputs/${taskId}/my_photo_enhanced.png`);
    const output = await backend.storage.getBuffer(done.result?.key ?? '');
    const meta = await sharp(output).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 48, 32]);
    expect(done.result?.bytes).toBe(output.length);
    expect(await backend.queue.depth()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(outcomes).toEqual(['completed']);
  });

  it('acknowledges a redelivered job whose task already completed without running it again', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8), { scale: 2 });
    const { worker, engine, outcomes } = startTestWorker(backend);
    const done = await waitForStatus(backend.storage, taskId, ['completed']);
    // The same job again, as SQS may deliver it twice (at-least-once).
    await backend.queue.send({ version: 1, taskId, inputKey: done.input.key, options: done.options });
    await waitFor(async () => outcomes.length === 2);
    await worker.stop();
    expect(outcomes).toEqual(['completed', 'skipped']);
    expect(engine.calls).toHaveLength(1);
    expect(await createTaskRepository(backend.storage).read(taskId)).toEqual(done);
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('abandons a job whose message lease is lost (heartbeat refused) without writing a result', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    // The real queue, except that extending visibility is refused as for an expired receipt handle.
    const queue = {
      ...backend.queue,
      async changeVisibility(): Promise<void> {
        throw new PhotoEnhanceError('QUEUE_ERROR', 'Queue changeVisibility failed: ReceiptHandleIsInvalid', {
          retryable: false,
        });
      },
    };
    const { worker, outcomes, started } = startTestWorker(
      { storage: backend.storage, queue },
      { steps: 100, stepMs: 50 },
      { heartbeatMs: 200, visibilityTimeoutSeconds: 30 },
    );
    await started;
    await waitFor(async () => outcomes.length === 1, { timeoutMs: 4000 });
    await worker.stop({ graceMs: 0 });
    expect(outcomes).toEqual(['released']);
    expect((await createTaskRepository(backend.storage).read(taskId))?.status).toBe('processing');
    expect(await backend.storage.list(`outputs/${taskId}/`)).toEqual([]);
  });

  it('deletes a poison message and fails a task whose job cannot be read, without retrying', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    // Drain the good job and replace it with a crafted one: valid task id, options out of range.
    const [good] = await backend.queue.receive({ waitTimeSeconds: 1 });
    await backend.queue.delete(good?.receiptHandle ?? '');
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    await backend.sqs.send(new SendMessageCommand({ QueueUrl: backend.queue.queueUrl, MessageBody: 'not json' }));
    await backend.sqs.send(
      new SendMessageCommand({
        QueueUrl: backend.queue.queueUrl,
        MessageBody: JSON.stringify({
          version: 1,
          taskId,
          inputKey: keys.input(taskId, 'photo.png'),
          options: { scale: 99 },
        }),
      }),
    );
    const { worker, engine, outcomes } = startTestWorker(backend);
    const failed = await waitForStatus(backend.storage, taskId, ['failed']);
    await waitFor(async () => outcomes.length === 2);
    await worker.stop();
    expect(failed.error?.code).toBe('INVALID_INPUT');
    expect(outcomes).toEqual(['invalid', 'invalid']);
    expect(engine.calls).toHaveLength(0);
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('fails a task once on a permanent engine error and acknowledges the message', async () => {
    const backend = await stack.connect();
    const taskId = await submitTask(backend, await pngImage(8, 8));
    const { worker, engine, outcomes } = startTestWorker(backend, {
      failWith: () => new PhotoEnhanceError('TOO_MANY_PIXELS', 'The image has too many pixels'),
    });
    const failed = await waitForStatus(backend.storage, taskId, ['failed']);
    // Give a redelivery (visibility 2 s) the chance to show up: there must be none.
    await new Promise((r) => setTimeout(r, 2500));
    await worker.stop();
    expect(failed.error).toEqual({ code: 'TOO_MANY_PIXELS', message: 'The image has too many pixels' });
    expect(failed.attempts).toBe(1);
    expect(engine.calls).toHaveLength(1);
    expect(outcomes).toEqual(['failed']);
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('retries transient failures until the queue dead-letters the job, then the reaper marks it EXHAUSTED', async () => {
    const backend = await stack.connect({ maxReceiveCount: 2 });
    const taskId = await submitTask(backend, await pngImage(8, 8));
    let downloads = 0;
    // A real storage whose downloads fail, as when S3 is unreachable.
    const flakyStorage = {
      ...backend.storage,
      async getBuffer(key: string): Promise<Buffer> {
        downloads++;
        throw new PhotoEnhanceError('STORAGE_ERROR', `Storage get failed ${key}: TimeoutError`);
      },
    };
    const { worker, outcomes, started } = startTestWorker(
      { storage: flakyStorage, queue: backend.queue },
      {},
      { dlqReapIntervalMs: 200 },
    );
    await started;
    const failed = await waitForStatus(backend.storage, taskId, ['failed']);
    await worker.stop();
    expect(failed.error?.code).toBe('EXHAUSTED');
    expect(failed.attempts).toBe(2);
    expect(downloads).toBe(2);
    expect(outcomes).toEqual(['retry', 'retry']);
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
    expect(await backend.queue.dlqDepth()).toMatchObject({ visible: 0, inFlight: 0 });
    // Reaping again is harmless: nothing left, and the record keeps its EXHAUSTED error.
    expect(
      await reapDeadLetters({
        tasks: createTaskRepository(backend.storage),
        queue: backend.queue,
        logger: silentLogger,
      }),
    ).toBe(0);
  });
});
