/**
 * The cross-instance progress channel of docs/design.md §7, end to end against moto (S3 + SNS + SQS in server
 * mode, started by scripts/real-servers next to MinIO and ElasticMQ): the bucket notifies an SNS topic of every
 * write under tasks/, each API instance subscribes a queue of its own, and viewers on instance B follow a task
 * submitted through instance A with one record read per change. SSE_POLL_MS is 100 ms and SSE_FALLBACK_POLL_MS
 * 60 s, so only notices can explain B seeing a change within seconds while reading nothing in between.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, ListSubscriptionsByTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  SendMessageBatchCommand,
  SQSClient,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import { createLogger, loadApiConfig, type RunningApi, startApiServer } from '@photoenhance/api';
import { type TaskRecord, TaskRecordSchema } from '@photoenhance/contracts';
import {
  createS3Storage,
  createTaskRepository,
  HEARTBEAT_TAG,
  keys,
  SUBSCRIPTION_TAG,
  startSnsSqsTaskChannel,
} from '@photoenhance/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPhoto } from '../harness/images.ts';
import { sleep } from './servers.ts';

const endpoint = process.env.PE_MOTO_ENDPOINT;
const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const suffix = randomUUID().slice(0, 8);
const bucket = `pe-progress-${suffix}`;
const queuePrefix = `pe-progress-${suffix}-`;

/** Counts GETs of task records (tasks/{id}.json) on their way to S3: what instance B reads of them. */
interface RecordReadCounter {
  url: string;
  reads(taskId: string): number;
  close(): Promise<void>;
}

async function startRecordReadCounter(target: string): Promise<RecordReadCounter> {
  const to = new URL(target);
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const match = /\/tasks\/([0-9a-f-]{36})\.json(?:\?|$)/.exec(req.url ?? '');
    if (match?.[1] && (req.method === 'GET' || req.method === 'HEAD')) {
      counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
    }
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reads: (taskId) => counts.get(taskId) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An SSE viewer that keeps every event with the time it arrived. */
interface Viewer {
  events: Array<{ event: string; data: { status?: string; percent?: number }; at: number }>;
  waitFor(match: (e: Viewer['events'][number]) => boolean, timeoutMs: number): Promise<number>;
  close(): void;
}

/** Every viewer opened, closed before the APIs stop (a server stops once its event streams are closed). */
const openViewers: AbortController[] = [];

async function view(url: string): Promise<Viewer> {
  const abort = new AbortController();
  openViewers.push(abort);
  const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`events: HTTP ${res.status} ${await res.text()}`);
  const events: Viewer['events'] = [];
  void (async () => {
    let buffer = '';
    const reader = res.body?.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const chunk = await reader?.read().catch(() => undefined);
      if (!chunk || chunk.done) return;
      buffer += chunk.value;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const event = lines
          .find((l) => l.startsWith('event:'))
          ?.slice(6)
          .trim();
        const data = lines
          .find((l) => l.startsWith('data:'))
          ?.slice(5)
          .trim();
        if (event && data) events.push({ event, data: JSON.parse(data), at: Date.now() });
      }
    }
  })();
  return {
    events,
    async waitFor(match, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(match);
        if (found) return found.at;
        if (Date.now() > deadline)
          throw new Error(`no matching event within ${timeoutMs} ms: ${JSON.stringify(events)}`);
        await sleep(10);
      }
    },
    close: () => abort.abort(),
  };
}

let s3: S3Client;
let sns: SNSClient;
let sqs: SQSClient;
let topicArn = '';
let counter: RecordReadCounter;
const apis: RunningApi[] = [];

const queuesOfThisRun = async () =>
  (await sqs.send(new ListQueuesCommand({ QueueNamePrefix: queuePrefix }))).QueueUrls ?? [];
const subscriptions = async () =>
  (await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }))).Subscriptions ?? [];

function apiConfig(s3Endpoint: string) {
  return loadApiConfig({
    LOG_LEVEL: 'silent',
    PORT: '0',
    S3_ENDPOINT: s3Endpoint,
    SQS_ENDPOINT: endpoint,
    S3_REGION: region,
    S3_BUCKET: bucket,
    SQS_QUEUE_NAME: `pe-progress-jobs-${suffix}`,
    SQS_DLQ_NAME: `pe-progress-dlq-${suffix}`,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    TASK_CHANGES_TOPIC_ARN: topicArn,
    TASK_CHANGES_QUEUE_PREFIX: queuePrefix,
    // Without notices the hub would read every 100 ms; with them, only every 60 s besides the notices.
    SSE_POLL_MS: '100',
    SSE_FALLBACK_POLL_MS: '60000',
    STATUS_CACHE_MS: '0',
  });
}

beforeAll(async () => {
  if (!endpoint) {
    throw new Error('test/real/progress-channel needs moto: run `npm run test:real` (scripts/real-servers)');
  }
  s3 = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
  sns = new SNSClient({ endpoint, region, credentials });
  sqs = new SQSClient({ endpoint, region, credentials });
  topicArn = (await sns.send(new CreateTopicCommand({ Name: `pe-task-changes-${suffix}` }))).TopicArn ?? '';
  // What infra/src/storage.ts sets up in AWS: writes and removals under tasks/ notify the topic.
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        TopicConfigurations: [
          {
            TopicArn: topicArn,
            Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'tasks/' }] } },
          },
        ],
      },
    }),
  );
  counter = await startRecordReadCounter(endpoint);
});

afterAll(async () => {
  for (const viewer of openViewers) viewer.abort();
  for (const api of apis) await api.stop().catch(() => {});
  await counter?.close();
  s3?.destroy();
  sns?.destroy();
  sqs?.destroy();
});

describe('progress notices across API instances (S3 → SNS → one SQS queue per instance)', () => {
  it('viewers on B see each change of a task submitted through A, with one record read per change', async () => {
    const a = await startApiServer(apiConfig(endpoint ?? ''), createLogger('silent'));
    apis.push(a);
    // B reads storage through the counter: its record reads are counted, its notices come straight from SQS.
    const b = await startApiServer(apiConfig(counter.url), createLogger('silent'));
    apis.push(b);
    expect(await queuesOfThisRun()).toHaveLength(2);
    const subs = await subscriptions();
    expect(subs).toHaveLength(2);
    for (const s of subs) expect(s.Protocol).toBe('sqs');

    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(await testPhoto(16, 12))], { type: 'image/png' }), 'p.png');
    form.append('scale', '1');
    const submitted = await fetch(`${a.url}/api/v1/enhance`, { method: 'POST', body: form });
    expect([200, 202]).toContain(submitted.status);
    const taskId = ((await submitted.json()) as { task_id: string }).task_id;

    const viewers = await Promise.all([0, 1, 2].map(() => view(`${b.url}/api/v1/tasks/${taskId}/events`)));
    for (const v of viewers) await v.waitFor((e) => e.data.status === 'queued', 10_000);
    // Notices of the API's own writes (the record at submission) may still be on their way: let them land.
    await sleep(1000);
    const before = counter.reads(taskId);

    // The worker's writes, made as a worker makes them: the record in storage, nothing sent to the API.
    const storage = createS3Storage({ client: s3, bucket, presignExpirySeconds: 60 });
    const tasks = createTaskRepository(storage);
    const record = (await tasks.read(taskId)) as TaskRecord;
    const steps = [10, 40, 70];
    for (const progress of steps) {
      const written = Date.now();
      await tasks.write(
        TaskRecordSchema.parse({
          ...record,
          status: 'processing',
          stage: 'upscale',
          progress,
          startedAt: record.startedAt ?? new Date(written).toISOString(),
          updatedAt: new Date(written).toISOString(),
        }),
      );
      for (const v of viewers) {
        const seen = await v.waitFor((e) => e.data.percent === progress, 10_000);
        // Well under the 60 s fallback poll: only the notice can have woken B.
        expect(seen - written).toBeLessThan(10_000);
      }
    }
    // One read per change for all three viewers (a duplicate notice at most adds one), none in between.
    const afterSteps = counter.reads(taskId) - before;
    expect(afterSteps).toBeGreaterThanOrEqual(steps.length);
    expect(afterSteps).toBeLessThanOrEqual(steps.length + 1);
    await sleep(1500); // 15 polls' worth at SSE_POLL_MS=100
    expect(counter.reads(taskId) - before).toBe(afterSteps);

    // A cancel through A (its marker under tasks/) reaches B's viewers by notice too, not by the fallback poll.
    const cancelled = Date.now();
    const del = await fetch(`${a.url}/api/v1/tasks/${taskId}`, { method: 'DELETE' });
    expect(del.status).toBeLessThan(300);
    for (const v of viewers) {
      const seen = await v.waitFor((e) => e.data.status === 'cancelled', 10_000);
      expect(seen - cancelled).toBeLessThan(10_000);
      v.close();
    }

    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    const notices = Number(/^photoenhance_api_progress_notices_total (\d+)/m.exec(metrics)?.[1]);
    expect(notices).toBeGreaterThanOrEqual(steps.length + 1);

    // Shutdown: each instance unsubscribes and deletes its own queue.
    await b.stop();
    expect(await queuesOfThisRun()).toHaveLength(1);
    expect(await subscriptions()).toHaveLength(1);
    await a.stop();
    apis.length = 0;
    expect(await queuesOfThisRun()).toEqual([]);
    expect(await subscriptions()).toEqual([]);
  });

  it('a starting instance sweeps the queue and subscription a crashed instance left behind', async () => {
    const queuePrefix = `pe-sweep-${suffix}-`;
    const queuesOfThisRun = async () =>
      (await sqs.send(new ListQueuesCommand({ QueueNamePrefix: queuePrefix }))).QueueUrls ?? [];
    // What a SIGKILLed instance leaves: its queue (last heartbeat 20 min ago) and its subscription.
    const crashed = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${queuePrefix}crashed`,
        tags: { [HEARTBEAT_TAG]: String(Date.now() - 20 * 60_000) },
      }),
    );
    const crashedUrl = crashed.QueueUrl ?? '';
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: crashedUrl, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn;
    const sub = await sns.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: arn, ReturnSubscriptionArn: true }),
    );
    await sqs.send(
      new TagQueueCommand({ QueueUrl: crashedUrl, Tags: { [SUBSCRIPTION_TAG]: sub.SubscriptionArn ?? '' } }),
    );
    // A live neighbour (fresh heartbeat) and a queue that is not ours (no heartbeat tag) must be left alone.
    const alive = await sqs.send(
      new CreateQueueCommand({ QueueName: `${queuePrefix}alive`, tags: { [HEARTBEAT_TAG]: String(Date.now()) } }),
    );
    const foreign = await sqs.send(new CreateQueueCommand({ QueueName: `${queuePrefix}foreign` }));

    const channel = await startSnsSqsTaskChannel({ sqs, sns, topicArn, queuePrefix, instanceId: 'fresh' });
    try {
      const names = (await queuesOfThisRun()).map((u) => u.split('/').pop()).sort();
      expect(names).toEqual([`${queuePrefix}alive`, `${queuePrefix}foreign`, `${queuePrefix}fresh`]);
      expect((await subscriptions()).map((s) => s.SubscriptionArn)).not.toContain(sub.SubscriptionArn);
      // The new queue gets notices: a record write under tasks/ reaches its listener.
      const taskId = randomUUID();
      const heard = new Promise<string>((resolve) => channel.subscribe((c) => resolve(c.taskId)));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys.taskRecord(taskId), Body: '{}' }));
      expect(await heard).toBe(taskId);
    } finally {
      await channel.stop();
      for (const url of [alive.QueueUrl, foreign.QueueUrl]) {
        await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {});
      }
    }
    expect(await queuesOfThisRun()).toEqual([]);
  });

  it('re-creates and re-subscribes its queue when it vanishes (swept by mistake), and notices flow again', async () => {
    const queuePrefix = `pe-heal-${suffix}-`;
    const channel = await startSnsSqsTaskChannel({ sqs, sns, topicArn, queuePrefix, waitTimeSeconds: 1 });
    try {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: channel.queueUrl }));
      const taskId = randomUUID();
      const heard = new Promise<string>((resolve) => channel.subscribe((c) => resolve(c.taskId)));
      // Written until heard: writes made before the queue is back are lost, as they would be in AWS.
      let done = false;
      void heard.then(() => {
        done = true;
      });
      for (let i = 0; i < 60 && !done; i++) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys.taskRecord(taskId), Body: `{"n":${i}}` }));
        await sleep(500);
      }
      expect(await heard).toBe(taskId);
      const own = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: queuePrefix }));
      expect(own.QueueUrls).toEqual([channel.queueUrl]);
      // One subscription for the queue: the one of the vanished queue was dropped, not left to deliver twice.
      expect((await subscriptions()).filter((sub) => sub.Endpoint?.includes(queuePrefix))).toHaveLength(1);
    } finally {
      await channel.stop();
    }
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: queuePrefix }))).QueueUrls ?? []).toEqual([]);
    expect((await subscriptions()).filter((sub) => sub.Endpoint?.includes(queuePrefix))).toEqual([]);
  });

  it('reads SNS envelopes too, drops what is no S3 event, and deletes every message it received', async () => {
    const queuePrefix = `pe-parse-${suffix}-`;
    const seen = { received: 0, unreadable: 0 };
    const channel = await startSnsSqsTaskChannel({
      sqs,
      sns,
      topicArn,
      queuePrefix,
      waitTimeSeconds: 1,
      observer: {
        received: (n) => {
          seen.received += n;
        },
        unreadable: (n) => {
          seen.unreadable += n;
        },
        lag: () => {},
      },
    });
    try {
      const taskId = randomUUID();
      const heard = new Promise<string>((resolve) => channel.subscribe((c) => resolve(c.taskId)));
      const event = { Records: [{ eventName: 'ObjectCreated:Put', s3: { object: { key: keys.taskRecord(taskId) } } }] };
      // In one batch: junk, S3's test event and an S3 event wrapped the way SNS wraps it without raw delivery.
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: channel.queueUrl,
          Entries: [
            { Id: 'junk', MessageBody: 'not an event' },
            { Id: 'test', MessageBody: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }) },
            {
              Id: 'envelope',
              MessageBody: JSON.stringify({ Type: 'Notification', TopicArn: topicArn, Message: JSON.stringify(event) }),
            },
          ],
        }),
      );
      expect(await heard).toBe(taskId);
      for (let i = 0; i < 100 && seen.unreadable === 0; i++) await sleep(50);
      expect(seen.unreadable).toBe(1);
      // Deleted, not merely hidden: nothing visible or in flight once the batch is handled.
      let left = '';
      for (let i = 0; i < 40; i++) {
        const attrs = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: channel.queueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        left = `${attrs.Attributes?.ApproximateNumberOfMessages}/${attrs.Attributes?.ApproximateNumberOfMessagesNotVisible}`;
        if (left === '0/0') break;
        await sleep(100);
      }
      expect(left).toBe('0/0');
    } finally {
      await channel.stop();
    }
  });
});
