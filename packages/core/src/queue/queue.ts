import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type JobMessage, PhotoEnhanceError, parseJobMessage, serializeJobMessage } from '@photoenhance/contracts';

export interface ReceivedJob {
  messageId: string;
  receiptHandle: string;
  /** SQS ApproximateReceiveCount: 1 on first delivery. */
  receiveCount: number;
  body: string;
  /** null when the body is not a valid JobMessage (a poison message: delete or let it dead-letter). */
  job: JobMessage | null;
  /** Why `job` is null. */
  invalidReason?: string;
  sentAt?: Date;
}

export interface ReceiveOptions {
  /** Long-poll seconds, 0–20. */
  waitTimeSeconds?: number;
  /** Overrides the queue's visibility timeout for these messages. */
  visibilityTimeout?: number;
  /** 1–10; workers take one job at a time. */
  max?: number;
  /** Aborts a long poll (shutdown). */
  signal?: AbortSignal;
}

export interface QueueDepth {
  /** Waiting to be received. */
  visible: number;
  /** Received, not yet deleted (being processed). */
  inFlight: number;
  delayed: number;
}

export interface JobQueue {
  readonly queueUrl: string;
  readonly dlqUrl: string | undefined;
  send(message: JobMessage, options?: { delaySeconds?: number }): Promise<string>;
  receive(options?: ReceiveOptions): Promise<ReceivedJob[]>;
  delete(receiptHandle: string): Promise<void>;
  changeVisibility(receiptHandle: string, visibilityTimeout: number): Promise<void>;
  depth(): Promise<QueueDepth>;
  /** Messages that exhausted their receives (for the reaper that marks their tasks EXHAUSTED). */
  receiveDlq(options?: ReceiveOptions): Promise<ReceivedJob[]>;
  deleteDlq(receiptHandle: string): Promise<void>;
  dlqDepth(): Promise<QueueDepth>;
  /** Throws QUEUE_ERROR when the queue cannot be reached. */
  ping(): Promise<void>;
}

export interface CreateQueueOptions {
  client: SQSClient;
  queueUrl: string;
  dlqUrl?: string;
}

function toQueueError(err: unknown, action: string): PhotoEnhanceError {
  if (err instanceof PhotoEnhanceError) return err;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  const clientFault = status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
  return new PhotoEnhanceError('QUEUE_ERROR', `Queue ${action} failed: ${e?.name ?? 'Error'}`, {
    cause: err,
    retryable: !clientFault,
  });
}

function toReceivedJob(message: Message): ReceivedJob | null {
  if (!message.ReceiptHandle || !message.MessageId) return null;
  const body = message.Body ?? '';
  const received: ReceivedJob = {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
    body,
    job: null,
  };
  const sent = message.Attributes?.SentTimestamp;
  if (sent) received.sentAt = new Date(Number(sent));
  try {
    received.job = parseJobMessage(body);
  } catch (err) {
    received.invalidReason = err instanceof Error ? err.message : String(err);
  }
  return received;
}

export function createQueue(options: CreateQueueOptions): JobQueue {
  const { client, queueUrl, dlqUrl } = options;

  async function call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw toQueueError(err, action);
    }
  }

  async function receiveFrom(url: string, receiveOptions: ReceiveOptions = {}): Promise<ReceivedJob[]> {
    const out = await call('receive', () =>
      client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: Math.min(10, Math.max(1, receiveOptions.max ?? 1)),
          WaitTimeSeconds: receiveOptions.waitTimeSeconds ?? 20,
          VisibilityTimeout: receiveOptions.visibilityTimeout,
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
        receiveOptions.signal ? { abortSignal: receiveOptions.signal } : {},
      ),
    );
    return (out.Messages ?? []).map(toReceivedJob).filter((m): m is ReceivedJob => m !== null);
  }

  async function depthOf(url: string): Promise<QueueDepth> {
    const out = await call('depth', () =>
      client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      ),
    );
    const a = out.Attributes ?? {};
    return {
      visible: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  }

  function requireDlq(): string {
    if (!dlqUrl) throw new PhotoEnhanceError('QUEUE_ERROR', 'No dead-letter queue configured', { retryable: false });
    return dlqUrl;
  }

  return {
    queueUrl,
    dlqUrl,

    async send(message, sendOptions = {}) {
      const body = serializeJobMessage(message);
      const out = await call('send', () =>
        client.send(
          new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: sendOptions.delaySeconds }),
        ),
      );
      return out.MessageId ?? '';
    },

    receive: (receiveOptions) => receiveFrom(queueUrl, receiveOptions),

    async delete(receiptHandle) {
      await call('delete', () =>
        client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle })),
      );
    },

    async changeVisibility(receiptHandle, visibilityTimeout) {
      await call('changeVisibility', () =>
        client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(visibilityTimeout))),
          }),
        ),
      );
    },

    depth: () => depthOf(queueUrl),

    receiveDlq: (receiveOptions) => receiveFrom(requireDlq(), receiveOptions),

    async deleteDlq(receiptHandle) {
      const url = requireDlq();
      await call('delete', () =>
        client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: receiptHandle })),
      );
    },

    dlqDepth: () => depthOf(requireDlq()),

    async ping() {
      await depthOf(queueUrl);
    },
  };
}
