import { createApiMetrics, createLogger, loadApiConfig } from '@photoenhance/api';
import { describe, expect, it } from 'vitest';
import { startConfiguredTaskChannel } from '../../src/progress/task-change-channel.ts';

describe('TASK_CHANGES_TOPIC_ARN (the cross-instance progress channel)', () => {
  it('refuses to start on a malformed topic ARN or queue prefix, naming the variable', () => {
    for (const arn of [
      'task-changes',
      'arn:aws:sqs:us-east-1:123456789012:task-changes',
      'arn:aws:sns:us-east-1:1234:t',
    ]) {
      expect(() => loadApiConfig({ TASK_CHANGES_TOPIC_ARN: arn }), arn).toThrow(
        /TASK_CHANGES_TOPIC_ARN: must be an SNS topic ARN/,
      );
    }
    expect(() => loadApiConfig({ TASK_CHANGES_QUEUE_PREFIX: 'has space' })).toThrow(/TASK_CHANGES_QUEUE_PREFIX/);
  });

  it('takes topic ARNs of every partition', () => {
    for (const arn of [
      'arn:aws:sns:eu-west-1:123456789012:photoenhance-task-changes',
      'arn:aws-us-gov:sns:us-gov-west-1:123456789012:t',
      'arn:aws-cn:sns:cn-north-1:123456789012:t_1',
    ]) {
      expect(loadApiConfig({ TASK_CHANGES_TOPIC_ARN: arn }).TASK_CHANGES_TOPIC_ARN).toBe(arn);
    }
  });

  it('starts no channel without it (behaviour as before: the hub polls every SSE_POLL_MS)', async () => {
    const config = loadApiConfig({});
    expect(config.TASK_CHANGES_TOPIC_ARN).toBeUndefined();
    await expect(
      startConfiguredTaskChannel(config, createLogger('silent'), createApiMetrics()),
    ).resolves.toBeUndefined();
  });
});
