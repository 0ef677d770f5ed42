import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SNSClient, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  type Message,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { awsClientConfig } from '../aws/client-options.ts';
import { type CommonConfig, credentialsFromConfig } from '../config/common.ts';
import { createSqsClient } from '../queue/sqs-client.ts';
import { taskNoticesFromMessage } from './s3-task-notices.ts';
import { createInProcessTaskChannel, type TaskChangeChannel } from './task-changes.ts';

/** What the channel reports, for metrics (services/api/src/metrics.ts). */
export interface TaskChangeObserver {
  /** Task ids announced by one received batch of messages (each id once per batch). */
  received(count: number): void;
  /** From S3's eventTime to the notice reaching this instance. */
  lag(ms: number): void;
  /** Messages that were neither an S3 event nor S3's test event (deleted, never retried). */
  unreadable(count: number): void;
}

export interface SnsSqsTaskChannelOptions {
  /** Its socket bound must exceed waitTimeSeconds (createSnsSqsTaskChannelFromConfig makes one that way). */
  sqs: SQSClient;
  sns: SNSClient;
  topicArn: string;
  /** The queue is `${queuePrefix}${instanceId}`; stale queues with this prefix are swept at start. */
  queuePrefix: string;
  instanceId?: string;
  /** Long poll of each receive (SQS allows 0–20). */
  waitTimeSeconds?: number;
  /** A notice is worth nothing after a minute: the fallback poll has read the record by then. */
  retentionSeconds?: number;
  /** How often the queue's heartbeat tag is renewed. */
  heartbeatMs?: number;
  /** A queue of our prefix whose heartbeat is older than this belongs to a crashed instance: swept at start. */
  staleAfterMs?: number;
  observer?: TaskChangeObserver;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** stop() also closes the two clients (they were made for this channel alone). */
  ownsClients?: boolean;
}

export interface SnsSqsTaskChannel extends TaskChangeChannel {
  readonly queueUrl: string;
  readonly queueName: string;
  /** Unsubscribes and deletes this instance's queue (idempotent). */
  stop(): Promise<void>;
}

/** Queue tags: when its instance was last alive (ms since the epoch), and its subscription (for the sweep). */
export const HEARTBEAT_TAG = 'photoenhance:heartbeat';
export const SUBSCRIPTION_TAG = 'photoenhance:subscription';
const DEFAULTS = { waitTimeSeconds: 20, retentionSeconds: 60, heartbeatMs: 5 * 60_000, staleAfterMs: 15 * 60_000 };
const MAX_BACKOFF_MS = 30_000;

function isMissingQueue(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name ?? '';
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}

/** Lets only the topic deliver to the queue (SNS → SQS needs the queue's own resource policy). */
function queuePolicy(queueArn: string, topicArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'task-changes-topic',
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
      },
    ],
  });
}

/**
 * Deletes the queues of instances that died without stopping (SIGKILL, OOM, a lost host): without this, every
 * record write would go on being delivered to each of them forever. Best effort: a failure is logged, and the
 * next starting instance tries again.
 */
async function sweepStaleQueues(
  options: Required<Pick<SnsSqsTaskChannelOptions, 'sqs' | 'sns' | 'queuePrefix'>> & {
    staleAfterMs: number;
    own: string;
    logger: SnsSqsTaskChannelOptions['logger'];
  },
): Promise<number> {
  const { sqs, sns } = options;
  const urls: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: options.queuePrefix, MaxResults: 1000, NextToken }),
    );
    urls.push(...(page.QueueUrls ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  let swept = 0;
  for (const url of urls) {
    if (url.endsWith(`/${options.own}`)) continue;
    try {
      const tags = await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }));
      const beat = Number(tags.Tags?.[HEARTBEAT_TAG]);
      // A queue with no heartbeat tag at all is not one of ours: left alone.
      if (!Number.isFinite(beat) || Date.now() - beat < options.staleAfterMs) continue;
      const subscription = tags.Tags?.[SUBSCRIPTION_TAG];
      if (subscription) await sns.send(new UnsubscribeCommand({ SubscriptionArn: subscription }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
      swept++;
      options.logger?.info({ queue: url.split('/').pop() }, 'swept the progress queue of a stopped API instance');
    } catch (error) {
      if (!isMissingQueue(error)) options.logger?.warn({ err: error }, 'could not sweep a stale progress queue');
    }
  }
  return swept;
}

/**
 * The AWS channel of docs/design.md §7: S3 event notifications on `tasks/` → SNS topic → this instance's own SQS
 * queue, long-polled in batches of 10. A notice names a task; the watch hub re-reads its record. `publish` is a
 * local call to this instance's listeners (the API announces its own cancels at once; S3 announces them again to
 * every instance, which costs one more read of a record that changed).
 */
export async function startSnsSqsTaskChannel(options: SnsSqsTaskChannelOptions): Promise<SnsSqsTaskChannel> {
  const { sqs, sns, topicArn, logger, observer } = options;
  const wait = options.waitTimeSeconds ?? DEFAULTS.waitTimeSeconds;
  const retention = options.retentionSeconds ?? DEFAULTS.retentionSeconds;
  const heartbeatMs = options.heartbeatMs ?? DEFAULTS.heartbeatMs;
  const staleAfterMs = options.staleAfterMs ?? DEFAULTS.staleAfterMs;
  const queueName = `${options.queuePrefix}${options.instanceId ?? randomUUID()}`;
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(queueName)) {
    throw new TypeError(`progress queue name ${queueName} is not a valid SQS queue name (1–80 of A-Z a-z 0-9 _ -)`);
  }
  const local = createInProcessTaskChannel();

  await sweepStaleQueues({
    sqs,
    sns,
    queuePrefix: options.queuePrefix,
    staleAfterMs,
    own: queueName,
    logger,
  }).catch((error) => logger?.warn({ err: error }, 'could not list progress queues to sweep stale ones'));

  let queueUrl = '';
  let subscriptionArn: string | undefined;
  const beat = () => ({ [HEARTBEAT_TAG]: String(Date.now()) });

  /** Creates the queue, lets the topic send to it and subscribes it; also after the queue vanished under us. */
  async function setUp(): Promise<void> {
    if (subscriptionArn) {
      // The queue vanished under a live subscription: drop it, or it would outlive this instance.
      const stale = subscriptionArn;
      subscriptionArn = undefined;
      await sns.send(new UnsubscribeCommand({ SubscriptionArn: stale })).catch(() => {});
    }
    const created = await sqs.send(
      new CreateQueueCommand({
        QueueName: queueName,
        Attributes: { MessageRetentionPeriod: String(retention), ReceiveMessageWaitTimeSeconds: String(wait) },
        tags: beat(),
      }),
    );
    if (!created.QueueUrl) throw new Error(`SQS did not return a URL for queue ${queueName}`);
    queueUrl = created.QueueUrl;
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    const queueArn = attrs.Attributes?.QueueArn;
    if (!queueArn) throw new Error(`SQS did not return the ARN of queue ${queueName}`);
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: queuePolicy(queueArn, topicArn) } }),
    );
    const subscribed = await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: queueArn,
        Attributes: { RawMessageDelivery: 'true' },
        ReturnSubscriptionArn: true,
      }),
    );
    subscriptionArn = subscribed.SubscriptionArn;
    if (subscriptionArn) {
      await sqs.send(new TagQueueCommand({ QueueUrl: queueUrl, Tags: { [SUBSCRIPTION_TAG]: subscriptionArn } }));
    }
    logger?.info({ queue: queueName, retentionSeconds: retention }, 'progress notices: queue subscribed to the topic');
  }

  try {
    await setUp();
  } catch (error) {
    // A queue made before the failing step (its policy, the subscription) would be left behind: remove it.
    if (queueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => {});
    if (options.ownsClients) {
      sqs.destroy();
      sns.destroy();
    }
    throw error;
  }

  let stopping = false;
  const abort = new AbortController();
  const heartbeat = setInterval(() => {
    sqs
      .send(new TagQueueCommand({ QueueUrl: queueUrl, Tags: beat() }))
      .catch((error) => logger?.warn({ err: error }, 'could not renew the progress queue heartbeat'));
  }, heartbeatMs);
  heartbeat.unref();

  function deliver(messages: Message[]): void {
    const ids = new Set<string>();
    const now = Date.now();
    let unreadable = 0;
    for (const message of messages) {
      const notices = taskNoticesFromMessage(message.Body ?? '');
      if (notices.unreadable) unreadable++;
      for (const id of notices.taskIds) ids.add(id);
      for (const at of notices.eventTimes) observer?.lag(Math.max(0, now - at));
    }
    if (unreadable) {
      observer?.unreadable(unreadable);
      logger?.warn({ count: unreadable }, 'progress queue: messages that are not S3 events were dropped');
    }
    observer?.received(ids.size);
    for (const taskId of ids) local.publish({ taskId });
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let messages: Message[];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: wait }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
        failures = 0;
      } catch (error) {
        if (stopping) return;
        failures++;
        logger?.warn({ err: error, failures }, 'progress queue: receive failed; the fallback poll covers the gap');
        try {
          if (isMissingQueue(error)) await setUp();
          else await sleep(Math.min(MAX_BACKOFF_MS, 250 * 2 ** failures), undefined, { signal: abort.signal });
        } catch {
          // Aborted by stop(), or setUp failed: the next turn of the loop tries again after a back-off.
          if (!stopping) await sleep(Math.min(MAX_BACKOFF_MS, 250 * 2 ** failures)).catch(() => {});
        }
        continue;
      }
      if (messages.length === 0) continue;
      deliver(messages);
      try {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      } catch (error) {
        // Undeleted notices come back after the visibility timeout: one more read each, never a wrong state.
        logger?.warn({ err: error }, 'progress queue: could not delete received notices');
      }
    }
  }
  const running = loop();

  let stopped: Promise<void> | undefined;
  return {
    get queueUrl() {
      return queueUrl;
    },
    queueName,
    publish: local.publish,
    subscribe: local.subscribe,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(heartbeat);
        abort.abort();
        await running;
        // Unsubscribe first: a subscription left to a deleted queue would still cost a delivery per write.
        if (subscriptionArn) {
          await sns
            .send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn }))
            .catch((error) => logger?.warn({ err: error }, 'could not unsubscribe the progress queue'));
        }
        await sqs
          .send(new DeleteQueueCommand({ QueueUrl: queueUrl }))
          .catch((error) => logger?.warn({ err: error, queue: queueName }, 'could not delete the progress queue'));
        if (options.ownsClients) {
          sqs.destroy();
          sns.destroy();
        }
      })();
      return stopped;
    },
  };
}

/** The channel with clients made from a process config (TASK_CHANGES_TOPIC_ARN set). */
export function createTaskChangeClients(
  config: Pick<
    CommonConfig,
    'SQS_ENDPOINT' | 'S3_ENDPOINT' | 'S3_REGION' | 'AWS_ACCESS_KEY_ID' | 'AWS_SECRET_ACCESS_KEY' | 'AWS_SESSION_TOKEN'
  > & { SNS_ENDPOINT?: string | null | undefined },
  waitTimeSeconds = DEFAULTS.waitTimeSeconds,
): { sqs: SQSClient; sns: SNSClient } {
  const credentials = credentialsFromConfig(config);
  // Its own SQS client: the API's is bounded to BACKEND_TIMEOUT_MS per call, which a 20 s long poll outlasts.
  const sqs = createSqsClient({
    endpoint: config.SQS_ENDPOINT,
    region: config.S3_REGION,
    credentials,
    connectionTimeoutMs: 5000,
    idleTimeoutMs: (waitTimeSeconds + 10) * 1000,
  });
  const snsEndpoint = config.SNS_ENDPOINT === undefined ? config.SQS_ENDPOINT : (config.SNS_ENDPOINT ?? undefined);
  const sns = new SNSClient(
    awsClientConfig({ endpoint: snsEndpoint, region: config.S3_REGION, credentials, connectionTimeoutMs: 5000 }),
  );
  return { sqs, sns };
}
