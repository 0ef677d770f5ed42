import { aws_iam as iam, Stack, aws_s3 as s3, aws_s3_notifications as s3n, aws_sns as sns } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { PREFIXES } from './storage.ts';

/**
 * The cross-instance progress channel (docs/design.md §7): S3 notifies an SNS topic of every write and removal
 * under tasks/ (records and cancel markers, whoever wrote them), and each API instance subscribes a queue of its
 * own to the topic at start (packages/core/src/progress/sns-sqs-task-changes.ts). The topic carries object keys
 * only (task ids, no personal data), so it is left unencrypted: a KMS key would need S3 in its key policy and
 * cost ~$1 a month for nothing secret.
 */
export class TaskChangeNotices extends Construct {
  readonly topic: sns.Topic;
  /** Name prefix of the API instances' queues: the task role may create and delete these only. */
  readonly queuePrefix: string;

  constructor(scope: Construct, id: string, bucket: s3.Bucket) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { enforceSSL: true });
    const destination = new s3n.SnsDestination(this.topic);
    const filter = { prefix: PREFIXES.tasks };
    bucket.addEventNotification(s3.EventType.OBJECT_CREATED, destination, filter);
    bucket.addEventNotification(s3.EventType.OBJECT_REMOVED, destination, filter);
    // Per stack, so two stacks in one account never create, sweep or delete each other's queues.
    const stackName = Stack.of(this)
      .stackName.replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 24);
    this.queuePrefix = `${stackName}-progress-`;
  }

  /** What the API container needs to start the channel. */
  environment(): Record<string, string> {
    return { TASK_CHANGES_TOPIC_ARN: this.topic.topicArn, TASK_CHANGES_QUEUE_PREFIX: this.queuePrefix };
  }

  /**
   * The API's own queue: create it with its policy and tags, long-poll and delete messages, renew its heartbeat
   * tag, and delete it on shutdown — on queues with the stack's prefix only. ListQueues (the start-up sweep of
   * crashed instances' queues) has no resource-level permission, so it is the one grant on "*" (it lists names).
   */
  grantApi(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    const queues = stack.formatArn({ service: 'sqs', resource: `${this.queuePrefix}*` });
    const statements = [
      new iam.PolicyStatement({
        sid: 'OwnProgressQueue',
        actions: [
          'sqs:CreateQueue',
          'sqs:DeleteQueue',
          'sqs:GetQueueAttributes',
          'sqs:SetQueueAttributes',
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:TagQueue',
          'sqs:ListQueueTags',
        ],
        resources: [queues],
      }),
      new iam.PolicyStatement({ sid: 'FindStaleProgressQueues', actions: ['sqs:ListQueues'], resources: ['*'] }),
      new iam.PolicyStatement({
        sid: 'SubscribeProgressQueue',
        actions: ['sns:Subscribe', 'sns:Unsubscribe'],
        resources: [this.topic.topicArn],
      }),
    ];
    for (const statement of statements) grantee.grantPrincipal.addToPrincipalPolicy(statement);
  }
}
