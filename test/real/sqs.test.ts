/**
 * Queue semantics on a real SQS server (ElasticMQ), through the app's own queue repository and bootstrap:
 * redrive to the DLQ, ApproximateReceiveCount, long polling, visibility extension, aborted polls.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { type JobMessage, newId } from '@photoenhance/contracts';
import type { JobQueue } from '@photoenhance/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../harness/stack.ts';
import { sleep, startRealStack } from './servers.ts';

const MAX_RECEIVES = 2;
let stack: Stack;
let queue: JobQueue;
beforeAll(async () => {
  stack = await startRealStack({ api: false, maxReceiveCount: MAX_RECEIVES });
  queue = stack.backend.queue;
});
afterAll(async () => {
  await stack?.stop();
});
// Each test deletes what it received; this also clears what is still visible (a failed test's leftovers).
afterEach(async () => {
  for (const receive of [queue.receive, queue.receiveDlq]) {
    for (;;) {
      const batch = await receive({ waitTimeSeconds: 0, max: 10, visibilityTimeout: 30 });
      if (batch.length === 0) break;
      for (const m of batch) await (receive === queue.receive ? queue.delete : queue.deleteDlq)(m.receiptHandle);
    }
  }
});

function job(): JobMessage {
  const taskId = newId();
  return { version: 1, taskId, inputKey: `inputs/${taskId}/photo.png`, options: { quality: 'fast' } } as JobMessage;
}

describe('SQS semantics (ElasticMQ)', () => {
  it('bootstrap leaves the redrive policy and timeouts on the real queue', async () => {
    const out = await stack.backend.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['All'] }),
    );
    const dlqArn = await stack.backend.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    expect(JSON.parse(out.Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
      maxReceiveCount: MAX_RECEIVES,
    });
    expect(out.Attributes).toMatchObject({
      VisibilityTimeout: String(stack.config.VISIBILITY_TIMEOUT),
      ReceiveMessageWaitTimeSeconds: '20',
    });
  });

  it('counts every delivery in ApproximateReceiveCount and redrives to the DLQ after maxReceiveCount', async () => {
    const message = job();
    const messageId = await queue.send(message);
    const counts: number[] = [];
    for (let i = 0; i < MAX_RECEIVES; i++) {
      const [received] = await queue.receive({ waitTimeSeconds: 2 });
      expect(received?.messageId).toBe(messageId);
      expect(received?.job).toMatchObject({ taskId: message.taskId, inputKey: message.inputKey });
      expect(received?.sentAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
      counts.push(received?.receiveCount ?? 0);
      // A failed attempt: back to the queue at once.
      if (received) await queue.changeVisibility(received.receiptHandle, 0);
    }
    expect(counts).toEqual([1, 2]);

    // The next receive moves it instead of delivering it a third time.
    expect(await queue.receive({ waitTimeSeconds: 1 })).toEqual([]);
    expect(await queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
    expect(await queue.dlqDepth()).toMatchObject({ visible: 1 });
    const [dead] = await queue.receiveDlq({ waitTimeSeconds: 1 });
    expect(dead?.messageId).toBe(messageId);
    expect(dead?.job?.taskId).toBe(message.taskId);
    // The count goes on in the DLQ, so the reaper cannot rely on it starting at 1.
    expect(dead?.receiveCount).toBeGreaterThan(MAX_RECEIVES);
    if (dead) await queue.deleteDlq(dead.receiptHandle);
  });

  it('a long poll returns as soon as a message arrives; an empty one waits the full time', async () => {
    let t0 = Date.now();
    expect(await queue.receive({ waitTimeSeconds: 2 })).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);

    t0 = Date.now();
    const polling = queue.receive({ waitTimeSeconds: 15 });
    await sleep(500);
    const messageId = await queue.send(job());
    const [received] = await polling;
    const elapsed = Date.now() - t0;
    expect(received?.messageId).toBe(messageId);
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(elapsed).toBeLessThan(5000);
    if (received) await queue.delete(received.receiptHandle);
  });

  it('a heartbeat (ChangeMessageVisibility) keeps a job hidden past its first timeout', async () => {
    const messageId = await queue.send(job());
    const [received] = await queue.receive({ waitTimeSeconds: 2, visibilityTimeout: 2 });
    expect(received?.messageId).toBe(messageId);
    await sleep(1000);
    await queue.changeVisibility(received?.receiptHandle ?? '', 5);
    await sleep(2000); // past the first 2 s lease
    expect(await queue.receive({ waitTimeSeconds: 0 })).toEqual([]);
    // Once the extended lease ends too, it is delivered again.
    const [again] = await queue.receive({ waitTimeSeconds: 8 });
    expect([again?.messageId, again?.receiveCount]).toEqual([messageId, 2]);
    if (again) await queue.delete(again.receiptHandle);
  });

  it('an aborted long poll may still take a message; it comes back after that poll’s visibility timeout', async () => {
    // What a worker's stop({ abortReceive }) leaves behind on a real server: the server does not see the
    // client hang up and hands the next message to the dead poll. Not lost — hidden for the poll's timeout.
    const controller = new AbortController();
    const aborted = queue.receive({ waitTimeSeconds: 10, visibilityTimeout: 3, signal: controller.signal });
    await sleep(300);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'QUEUE_ERROR' });

    const t0 = Date.now();
    const messageId = await queue.send(job());
    const [received] = await queue.receive({ waitTimeSeconds: 10 });
    expect(received?.messageId).toBe(messageId);
    // Delivered twice: once to the aborted poll, once here after its 3 s lease ran out.
    expect(received?.receiveCount).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    if (received) await queue.delete(received.receiptHandle);
  });
});
