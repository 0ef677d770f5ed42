import { Duration, aws_sqs as sqs } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { DeploymentSettings } from './settings.ts';

/** SQS's longest retention: a dead-lettered job stays inspectable for two weeks. */
const FOURTEEN_DAYS = Duration.days(14);

/**
 * The jobs queue and its dead-letter queue, with the attributes bootstrapResources() gives local queues
 * (packages/core/src/embedded/bootstrap.ts): long polling, redrive after maxReceiveCount receives.
 */
export class JobQueues extends Construct {
  readonly jobs: sqs.Queue;
  readonly deadLetter: sqs.Queue;

  constructor(
    scope: Construct,
    id: string,
    settings: Pick<DeploymentSettings, 'maxReceiveCount' | 'visibilityTimeoutSeconds'>,
  ) {
    super(scope, id);
    this.deadLetter = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: FOURTEEN_DAYS,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.jobs = new sqs.Queue(this, 'JobsQueue', {
      visibilityTimeout: Duration.seconds(settings.visibilityTimeoutSeconds),
      receiveMessageWaitTime: Duration.seconds(20),
      retentionPeriod: FOURTEEN_DAYS,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetter, maxReceiveCount: settings.maxReceiveCount },
    });
  }
}
