import { z } from 'zod';
import { envUrl } from './env.ts';

/**
 * An SNS topic ARN (aws, aws-cn, aws-us-gov partitions): checked at start so a typo refuses to start instead of
 * failing at the first Subscribe with an AWS error that names no variable.
 */
export const SNS_TOPIC_ARN_PATTERN = /^arn:aws(?:-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/**
 * The cross-instance progress channel (docs/design.md §7): S3 event notifications on `tasks/` → an SNS topic →
 * one SQS queue per API instance. Unset TASK_CHANGES_TOPIC_ARN: no channel (an API instance beside its workers
 * gets the in-process one from the launcher; any other polls every SSE_POLL_MS).
 */
export const TaskChangesEnvShape = {
  TASK_CHANGES_TOPIC_ARN: z
    .string()
    .regex(SNS_TOPIC_ARN_PATTERN, 'must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:task-changes')
    .optional(),
  /**
   * Name prefix of each instance's own queue (the instance id follows); the CDK task role may create and delete
   * queues with this prefix only, and a starting instance sweeps stale queues with it (crashed instances).
   */
  TASK_CHANGES_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1–40 letters, digits, _ or -')
    .default('photoenhance-progress-'),
  /** SNS endpoint (an emulator); `aws` or unset: the SDK's own (SQS_ENDPOINT when that names an emulator). */
  SNS_ENDPOINT: z
    .union([z.literal('aws'), envUrl()])
    .optional()
    .transform((v) => (v === 'aws' ? null : v)),
} as const;
