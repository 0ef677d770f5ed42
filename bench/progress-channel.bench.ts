/**
 * `npm run bench:progress-channel`: what the AWS progress channel (S3 notices on tasks/ → SNS → one SQS queue per
 * API instance, docs/design.md §7) costs per record write and per idle minute, and how late its notices are.
 * Runs on moto in server mode (PE_MOTO_ENDPOINT; `PE_MOTO_PORT=… bash scripts/real-servers/start.sh moto`):
 * CHANNEL_INSTANCES channels (default 2) each talk to SQS through their own counting proxy
 * (bench/cost/counting-proxy.ts), so the receives and deletes of each instance are counted apart. S3's publish to
 * SNS and SNS's delivery into each queue happen inside the server and are counted by construction (one publish
 * per write, one delivery per write and instance).
 * Phases: idle (CHANNEL_IDLE_S, 45 s), steady writes (CHANNEL_STEADY writes 400 ms apart: a progress write of a
 * few tasks at once), a burst (CHANNEL_BURST writes, 25 at a time: many workers finishing together).
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { createTaskChangeClients, keys, type SnsSqsTaskChannel, startSnsSqsTaskChannel } from '@photoenhance/core';
import { type CountingProxy, startCountingProxy, totalSqs } from './cost/counting-proxy.ts';

const PRICES = { snsPublishPerMillion: 0.5, sqsPerMillion: 0.4 };
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const INSTANCES = num('CHANNEL_INSTANCES', 2);
const IDLE_S = num('CHANNEL_IDLE_S', 45);
const STEADY = num('CHANNEL_STEADY', 40);
const BURST = num('CHANNEL_BURST', 200);

const endpoint = process.env.PE_MOTO_ENDPOINT;
if (!endpoint) {
  console.error('bench:progress-channel needs moto: PE_MOTO_PORT=… bash scripts/real-servers/start.sh moto, then');
  console.error('PE_MOTO_ENDPOINT=http://127.0.0.1:<port> npm run bench:progress-channel');
  process.exit(2);
}

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

async function main(moto: string): Promise<void> {
  const region = 'us-east-1';
  const credentials = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
  const s3 = new S3Client({
    endpoint: moto,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    forcePathStyle: true,
  });
  const suffix = randomUUID().slice(0, 8);
  const bucket = `pe-bench-${suffix}`;
  const admin = createTaskChangeClients({ SQS_ENDPOINT: moto, S3_ENDPOINT: moto, S3_REGION: region, ...credentials });
  const topicArn = (await admin.sns.send(new CreateTopicCommand({ Name: `pe-bench-${suffix}` }))).TopicArn ?? '';
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

  const proxies: CountingProxy[] = [];
  const channels: SnsSqsTaskChannel[] = [];
  /** Per write: when it was made, and when each instance heard of it. */
  const written = new Map<string, number>();
  const heard: number[][] = [];
  try {
    for (let i = 0; i < INSTANCES; i++) {
      const proxy = await startCountingProxy(moto, 'sqs');
      proxies.push(proxy);
      const { sqs, sns } = createTaskChangeClients({
        SQS_ENDPOINT: proxy.url,
        SNS_ENDPOINT: moto,
        S3_ENDPOINT: moto,
        S3_REGION: region,
        ...credentials,
      });
      const channel = await startSnsSqsTaskChannel({
        sqs,
        sns,
        topicArn,
        queuePrefix: `pe-bench-${suffix}-`,
        ownsClients: true,
      });
      const lags: number[] = [];
      heard.push(lags);
      channel.subscribe(({ taskId }) => {
        const at = written.get(taskId);
        if (at !== undefined) lags.push(Date.now() - at);
      });
      channels.push(channel);
    }
    const reset = () => proxies.map((p) => p.reset());
    const write = async () => {
      const taskId = randomUUID();
      written.set(taskId, Date.now());
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys.taskRecord(taskId), Body: '{}' }));
    };
    const settle = async (expected: number) => {
      const deadline = Date.now() + 30_000;
      while (heard.some((l) => l.length < expected) && Date.now() < deadline) await sleep(50);
    };

    console.log(`# bench:progress-channel — ${new Date().toISOString()}`);
    console.log(`moto ${moto}; ${INSTANCES} API instances (channels); long poll 20 s, batches of 10`);
    console.log(
      `CPU: ${cpus()[0]?.model} ×${cpus().length}; load average at start ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    const perInstance = (counts: ReturnType<typeof reset>, per: number) =>
      counts.map((c) => (totalSqs(c) / per).toFixed(2)).join(' / ');
    const actions = (counts: ReturnType<typeof reset>) =>
      Object.entries(counts[0]?.sqs ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');

    await sleep(1000);
    reset();
    await sleep(IDLE_S * 1000);
    const idle = reset();
    console.log(`idle, SQS requests per instance per minute: ${perInstance(idle, IDLE_S / 60)} (${actions(idle)})`);

    const phase = async (name: string, count: number, run: () => Promise<void>) => {
      for (const l of heard) l.length = 0;
      reset();
      await run();
      await settle(count);
      const counts = reset();
      const lags = heard.flat();
      const perWrite = counts.map((c) => totalSqs(c) / count);
      const meanPerWrite = perWrite.reduce((a, b) => a + b, 0) / perWrite.length;
      // One SNS publish per write; per instance SNS's delivery (+1) and what the instance itself asked.
      const dollarsPerMillion = PRICES.snsPublishPerMillion + INSTANCES * (meanPerWrite + 1) * PRICES.sqsPerMillion;
      console.log(
        `${name}: ${count} writes; heard ${heard.map((l) => l.length).join(' / ')}; SQS requests per write per instance ${perInstance(counts, count)} (${actions(counts)}); lag p50 ${pct(lags, 50)} ms p95 ${pct(lags, 95)} ms max ${Math.max(...lags)} ms`,
      );
      console.log(`  => $${dollarsPerMillion.toFixed(2)} per million record writes with ${INSTANCES} instances`);
    };
    await phase('steady (one write every 400 ms)', STEADY, async () => {
      for (let i = 0; i < STEADY; i++) {
        await write();
        await sleep(400);
      }
    });
    await phase('burst (25 writes at a time)', BURST, async () => {
      for (let i = 0; i < BURST; i += 25) await Promise.all(Array.from({ length: Math.min(25, BURST - i) }, write));
    });
  } finally {
    for (const channel of channels) await channel.stop();
    for (const proxy of proxies) await proxy.close();
    admin.sqs.destroy();
    admin.sns.destroy();
    s3.destroy();
  }
}

await main(endpoint);
