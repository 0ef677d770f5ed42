import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { JobMessage, PhotoEnhanceError } from '@photoenhance/contracts';
import { EnhanceOptionsSchema, newId } from '@photoenhance/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue } from '../../src/queue/queue.ts';
import { createSqsClient } from '../../src/queue/sqs-client.ts';
import { must, startTestBackend, type TestBackend } from './harness.ts';

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend({ MAX_RECEIVE_COUNT: '2' });
});
afterAll(async () => {
  await backend?.dispose();
});

function job(): JobMessage {
  const taskId = newId();
  return { version: 1, taskId, inputKey: `inputs/${taskId}/a.png`, options: EnhanceOptionsSchema.parse({}) };
}

describe('job queue on fauxqs', () => {
  it('sends, receives with receive count, extends visibility, deletes, and reports depth', async () => {
    const { queue } = backend;
    const sent = job();
    await queue.send(sent);
    expect(await queue.depth()).toMatchObject({ visible: 1, inFlight: 0 });

    const [received] = await queue.receive({ waitTimeSeconds: 1, visibilityTimeout: 30 });
    expect(received?.job).toEqual(sent);
    expect(received?.receiveCount).toBe(1);
    expect(await queue.depth()).toMatchObject({ visible: 0, inFlight: 1 });

    // Visibility 0 hands it back at once: the redelivery counts as a second receive.
    await queue.changeVisibility(must(received).receiptHandle, 0);
    const [again] = await queue.receive({ waitTimeSeconds: 1 });
    expect(again?.job?.taskId).toBe(sent.taskId);
    expect(again?.receiveCount).toBe(2);

    await queue.delete(must(again).receiptHandle);
    expect(await queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
    expect(await queue.receive({ waitTimeSeconds: 0 })).toEqual([]);
  });

  it('moves a job to the DLQ after MAX_RECEIVE_COUNT receives', async () => {
    const { queue } = backend;
    const sent = job();
    await queue.send(sent);
    for (let i = 0; i < 2; i++) {
      const [m] = await queue.receive({ waitTimeSeconds: 1 });
      expect(m?.job?.taskId).toBe(sent.taskId);
      await queue.changeVisibility(must(m).receiptHandle, 0);
    }
    expect(await queue.receive({ waitTimeSeconds: 0 })).toEqual([]);
    const [dead] = await queue.receiveDlq({ waitTimeSeconds: 1 });
    expect(dead?.job?.taskId).toBe(sent.taskId);
    await queue.deleteDlq(must(dead).receiptHandle);
    expect(await queue.dlqDepth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('hands back a poison message with job null and the reason', async () => {
    await backend.sqs.send(new SendMessageCommand({ QueueUrl: backend.queue.queueUrl, MessageBody: '{"version":2}' }));
    const [m] = await backend.queue.receive({ waitTimeSeconds: 1 });
    expect(m?.job).toBeNull();
    expect(m?.invalidReason).toMatch(/invalid/i);
    await backend.queue.delete(must(m).receiptHandle);
  });

  it('refuses to send an invalid message and maps transport failures to QUEUE_ERROR', async () => {
    await expect(backend.queue.send({ ...job(), taskId: 'not-an-id' })).rejects.toThrow();
    const dead = createQueue({
      client: createSqsClient({
        endpoint: 'http://127.0.0.1:9',
        region: 'us-east-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        maxAttempts: 1,
      }),
      queueUrl: 'http://127.0.0.1:9/000000000000/q',
    });
    const err = (await dead.ping().catch((e: unknown) => e)) as PhotoEnhanceError;
    expect(err.code).toBe('QUEUE_ERROR');
    expect(err.retryable).toBe(true);
  });
});
