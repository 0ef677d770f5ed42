import { createTaskChangeClients, type SnsSqsTaskChannel, startSnsSqsTaskChannel } from '@photoenhance/core';
import type { Logger } from 'pino';
import type { ApiConfig } from '../config.ts';
import { type ApiMetrics, progressNoticeObserver } from '../metrics.ts';

/**
 * The progress channel this API instance starts on its own: the AWS one (S3 notices → SNS → its own SQS queue)
 * when TASK_CHANGES_TOPIC_ARN is set, none otherwise (the launcher hands the in-process one in instead).
 */
export async function startConfiguredTaskChannel(
  config: ApiConfig,
  logger: Logger,
  metrics: ApiMetrics,
): Promise<SnsSqsTaskChannel | undefined> {
  if (!config.TASK_CHANGES_TOPIC_ARN) return undefined;
  const { sqs, sns } = createTaskChangeClients(config);
  return startSnsSqsTaskChannel({
    sqs,
    sns,
    topicArn: config.TASK_CHANGES_TOPIC_ARN,
    queuePrefix: config.TASK_CHANGES_QUEUE_PREFIX,
    observer: progressNoticeObserver(metrics),
    logger,
    ownsClients: true,
  });
}
