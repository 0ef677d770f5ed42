import { loadApiConfig } from '@photoenhance/api';
import { loadWorkerConfig } from '@photoenhance/gpu-worker';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentSettings } from '../src/settings.ts';
import {
  actionsOf,
  describeResource,
  logicalIdOf,
  propertiesOf,
  resources,
  resourcesOf,
  synth,
  taskRoleStatements,
} from './synth.ts';

// Non-default values throughout, so every assertion proves the setting was wired, not just defaulted.
const CONTEXT = {
  retentionHours: '36.5',
  wafRequestsPer5Minutes: '900',
  corsOrigins: 'https://app.example, https://admin.example',
  maxReceiveCount: '4',
  visibilityTimeoutSeconds: '600',
  gpuInstanceType: 'g4dn.xlarge',
  minWorkers: '0',
  maxWorkers: '6',
};

let template: ReturnType<typeof synth>['template'];
let settings: DeploymentSettings;
let ids: { bucket: string; jobs: string; dlq: string; apiTask: string; workerTask: string; topic: string };

beforeAll(() => {
  ({ template, settings } = synth(CONTEXT));
  const queueId = (dlq: boolean) =>
    logicalIdOf(template, 'AWS::SQS::Queue', (p) => (p.RedrivePolicy === undefined) === dlq);
  ids = {
    bucket: logicalIdOf(template, 'AWS::S3::Bucket', (p) => p.LoggingConfiguration !== undefined),
    jobs: queueId(false),
    dlq: queueId(true),
    apiTask: logicalIdOf(
      template,
      'AWS::ECS::TaskDefinition',
      (p) => (p.RequiresCompatibilities as string[] | undefined)?.includes('FARGATE') === true,
    ),
    workerTask: logicalIdOf(
      template,
      'AWS::ECS::TaskDefinition',
      (p) => (p.RequiresCompatibilities as string[] | undefined)?.includes('EC2') === true,
    ),
    topic: logicalIdOf(template, 'AWS::SNS::Topic'),
  };
});

/** Every (action, resource) pair a task role is granted, resources in readable form. */
function grants(taskDefinitionId: string): Set<string> {
  const names = { bucket: ids.bucket, queues: { jobs: ids.jobs, dlq: ids.dlq }, topics: { 'task-changes': ids.topic } };
  const pairs = new Set<string>();
  for (const statement of taskRoleStatements(template, taskDefinitionId)) {
    expect(statement.Effect).toBe('Allow');
    for (const action of actionsOf(statement)) {
      for (const resource of resourcesOf(statement)) pairs.add(`${action} ${describeResource(resource, names)}`);
    }
  }
  return pairs;
}

function containerEnv(taskDefinitionId: string): Record<string, unknown> {
  const task = propertiesOf(template, taskDefinitionId);
  const [container] = task.ContainerDefinitions as { Environment: { Name: string; Value: unknown }[] }[];
  return Object.fromEntries((container?.Environment ?? []).map((e) => [e.Name, e.Value]));
}

describe('bucket', () => {
  it('is encrypted, private and TLS-only', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    // Nothing in the stack grants the bucket to everyone.
    const policy = JSON.stringify(resources(template));
    expect(policy).not.toMatch(/"Principal":\s*"\*"[^}]*"Effect":\s*"Allow"/);
    expect(policy).not.toMatch(/"Effect":\s*"Allow"[^}]*"Principal":\s*{\s*"AWS":\s*"\*"/);
  });

  it('allows browser PUT and GET from the configured origins only', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({
            AllowedOrigins: ['https://app.example', 'https://admin.example'],
            AllowedMethods: Match.arrayWith(['GET', 'PUT']),
          }),
        ],
      },
    });
  });

  it('backs RETENTION_HOURS with lifecycle rules in whole days (rounded up, plus the day a task may wait)', () => {
    const bucket = propertiesOf(template, ids.bucket);
    const rules = (
      bucket.LifecycleConfiguration as { Rules: { Prefix?: string; ExpirationInDays?: number; Status: string }[] }
    ).Rules;
    const expiry = Object.fromEntries(rules.filter((r) => r.Prefix).map((r) => [r.Prefix, r.ExpirationInDays]));
    // 36.5 h → 2 days rounded up, + 1.
    expect(expiry).toEqual({
      'inputs/': 3,
      'outputs/': 3,
      'tasks/': 3,
      'batches/': 3,
      'active/': 3,
      'uploads/': 1,
      'replays/': 1,
    });
    expect(settings.retentionHours).toBe(36.5);
    expect(rules.every((r) => r.Status === 'Enabled')).toBe(true);
  });
});

describe('rate firewall', () => {
  it("puts a WAF rate-based rule per client address on the API's load balancer", () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({
          Action: { Block: {} },
          Statement: { RateBasedStatement: { Limit: 900, AggregateKeyType: 'IP' } },
        }),
      ],
    });
    const association = propertiesOf(template, logicalIdOf(template, 'AWS::WAFv2::WebACLAssociation'));
    const loadBalancer = logicalIdOf(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(association.ResourceArn).toEqual({ Ref: loadBalancer });
  });
});

describe('progress notices (S3 events on tasks/ → SNS → one SQS queue per API instance)', () => {
  it('notify the topic of every write and removal under tasks/ only', () => {
    const [notifications] = Object.values(resources(template))
      .filter((r) => r.Type === 'Custom::S3BucketNotifications')
      .map((r) => r.Properties as { BucketName: unknown; NotificationConfiguration: Record<string, unknown> });
    expect(notifications?.BucketName).toEqual({ Ref: ids.bucket });
    const topics = notifications?.NotificationConfiguration.TopicConfigurations as Array<Record<string, unknown>>;
    const prefixOnly = { Key: { FilterRules: [{ Name: 'prefix', Value: 'tasks/' }] } };
    expect(topics).toEqual([
      { Events: ['s3:ObjectCreated:*'], TopicArn: { Ref: ids.topic }, Filter: prefixOnly },
      { Events: ['s3:ObjectRemoved:*'], TopicArn: { Ref: ids.topic }, Filter: prefixOnly },
    ]);
    expect(notifications?.NotificationConfiguration.QueueConfigurations).toBeUndefined();
  });

  it("let only this bucket's S3 events publish to the topic, over TLS", () => {
    const [policy] = Object.values(resources(template))
      .filter((r) => r.Type === 'AWS::SNS::TopicPolicy')
      .map((r) => r.Properties as { Topics: unknown[]; PolicyDocument: { Statement: Array<Record<string, unknown>> } });
    expect(policy?.Topics).toEqual([{ Ref: ids.topic }]);
    const statements = policy?.PolicyDocument.Statement ?? [];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'sns:Publish',
        Principal: { Service: 's3.amazonaws.com' },
        Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [ids.bucket, 'Arn'] } } },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('tell the API (not the workers) the topic and its queue prefix', () => {
    expect(containerEnv(ids.apiTask)).toMatchObject({
      TASK_CHANGES_TOPIC_ARN: { Ref: ids.topic },
      TASK_CHANGES_QUEUE_PREFIX: 'Test-progress-',
    });
    expect(containerEnv(ids.workerTask).TASK_CHANGES_TOPIC_ARN).toBeUndefined();
  });
});

describe('queues', () => {
  it('dead-letters a job after maxReceiveCount receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [ids.dlq, 'Arn'] }, maxReceiveCount: 4 },
      VisibilityTimeout: 600,
      ReceiveMessageWaitTimeSeconds: 20,
    });
    const dlq = propertiesOf(template, ids.dlq);
    expect(dlq.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });
});

describe('least-privilege task roles', () => {
  it('lets the API write uploads and records, read what it serves, and only send to the jobs queue', () => {
    const api = grants(ids.apiTask);
    for (const expected of [
      's3:PutObject bucket/inputs/*',
      's3:PutObject bucket/tasks/*',
      's3:PutObject bucket/uploads/*',
      's3:PutObject bucket/replays/*',
      's3:GetObject bucket/uploads/*',
      's3:GetObject bucket/outputs/*',
      's3:DeleteObject bucket/outputs/*',
      's3:ListBucket bucket',
      'sqs:SendMessage queue:jobs',
    ]) {
      expect(api).toContain(expected);
    }
    // It receives and deletes only on its own progress queue (the cross-instance channel), never on the jobs queue.
    expect(
      [...api].filter(
        (g) => /Receive|ChangeMessageVisibility|sqs:DeleteMessage/.test(g) && !g.endsWith(' queues:Test-progress-*'),
      ),
    ).toEqual([]);
    expect([...api].filter((g) => g.startsWith('s3:PutObject bucket/outputs'))).toEqual([]);
    expect([...api].filter((g) => g.includes('queue:dlq'))).toEqual([]);
  });

  it('lets a worker read inputs, write outputs and records, and consume jobs and dead letters', () => {
    const worker = grants(ids.workerTask);
    for (const expected of [
      's3:GetObject bucket/inputs/*',
      's3:GetObject bucket/tasks/*',
      's3:PutObject bucket/outputs/*',
      's3:PutObject bucket/tasks/*.json',
      'sqs:ReceiveMessage queue:jobs',
      'sqs:DeleteMessage queue:jobs',
      'sqs:ChangeMessageVisibility queue:jobs',
      'sqs:ReceiveMessage queue:dlq',
      'sqs:DeleteMessage queue:dlq',
    ]) {
      expect(worker).toContain(expected);
    }
    expect([...worker].filter((g) => g.startsWith('s3:PutObject bucket/inputs'))).toEqual([]);
    // Cancel markers (tasks/{id}.cancel) are the API's: a worker can write task records only.
    expect([...worker].filter((g) => g.startsWith('s3:PutObject bucket/tasks/') && !g.endsWith('/*.json'))).toEqual([]);
    expect([...worker].filter((g) => g.startsWith('sqs:SendMessage'))).toEqual([]);
  });

  it('scopes every grant to the bucket, the two queues, the progress queues and topic, with no wildcard actions', () => {
    for (const task of [ids.apiTask, ids.workerTask]) {
      for (const grant of grants(task)) {
        const [action, resource] = grant.split(' ');
        expect(action, grant).toMatch(/^(s3|sqs|sns):[A-Za-z]+$/);
        // ListQueues has no resource-level permission: the one grant on "*" (it lists queue names only).
        if (grant === 'sqs:ListQueues "*"') continue;
        expect(resource, grant).toMatch(
          /^(bucket(\/(inputs|outputs|tasks|batches|workers|uploads|replays|active)\/\*(\.json)?)?|queue:(jobs|dlq)|queues:Test-progress-\*|topic:task-changes)$/,
        );
      }
    }
  });

  it('lets the API run its own progress queue (create, subscribe, long-poll, delete) and nothing of it to workers', () => {
    const api = grants(ids.apiTask);
    for (const action of [
      'CreateQueue',
      'DeleteQueue',
      'GetQueueAttributes',
      'SetQueueAttributes',
      'ReceiveMessage',
      'DeleteMessage',
      'TagQueue',
      'ListQueueTags',
    ]) {
      expect(api).toContain(`sqs:${action} queues:Test-progress-*`);
    }
    expect(api).toContain('sqs:ListQueues "*"');
    expect(api).toContain('sns:Subscribe topic:task-changes');
    expect(api).toContain('sns:Unsubscribe topic:task-changes');
    const worker = grants(ids.workerTask);
    expect([...worker].filter((g) => g.includes('progress') || g.startsWith('sns:') || g.includes('"*"'))).toEqual([]);
  });
});

describe('GPU workers', () => {
  it('scale out on the jobs queue ApproximateNumberOfMessagesVisible', () => {
    const workerService = logicalIdOf(
      template,
      'AWS::ECS::Service',
      (p) => p.LaunchType === undefined && p.CapacityProviderStrategy !== undefined,
    );
    const target = logicalIdOf(template, 'AWS::ApplicationAutoScaling::ScalableTarget', (p) =>
      JSON.stringify(p.ResourceId).includes(workerService),
    );
    expect(propertiesOf(template, target)).toMatchObject({
      MinCapacity: 0,
      MaxCapacity: 6,
      ScalableDimension: 'ecs:service:DesiredCount',
    });

    // Each step-scaling policy of the worker service, with the alarm that triggers it.
    const policies = Object.entries(resources(template))
      .filter(
        ([, r]) =>
          r.Type === 'AWS::ApplicationAutoScaling::ScalingPolicy' &&
          JSON.stringify(r.Properties?.ScalingTargetId) === JSON.stringify({ Ref: target }),
      )
      .map(([id, r]) => {
        const config = r.Properties?.StepScalingPolicyConfiguration as {
          StepAdjustments: { ScalingAdjustment: number }[];
        };
        const alarm = logicalIdOf(
          template,
          'AWS::CloudWatch::Alarm',
          (p) => JSON.stringify(p.AlarmActions) === JSON.stringify([{ Ref: id }]),
        );
        return {
          adjustments: config.StepAdjustments.map((step) => step.ScalingAdjustment),
          alarm: propertiesOf(template, alarm),
        };
      });
    expect(policies).toHaveLength(2);
    const scaleOut = policies.filter((p) => p.adjustments.every((change) => change > 0));
    const scaleIn = policies.filter((p) => p.adjustments.every((change) => change < 0));
    expect(scaleOut).toHaveLength(1);
    expect(scaleIn).toHaveLength(1);
    expect(scaleOut[0]?.alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.jobs, 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });

    // Scale-in once nothing has waited on the same queue for 10 minutes (bench:autoscaling chose it: waiting
    // *or running* kept idle workers for hours under a trickle); a stopped worker finishes its job first.
    const inAlarm = scaleIn[0]?.alarm ?? {};
    expect(inAlarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.jobs, 'QueueName'] } }],
      ComparisonOperator: 'LessThanOrEqualToThreshold',
      EvaluationPeriods: 10,
    });
  });

  it('run one GPU task per instance on the chosen GPU instance type and the ECS GPU AMI', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['EC2'],
      ContainerDefinitions: [
        Match.objectLike({ ResourceRequirements: [{ Type: 'GPU', Value: '1' }], StopTimeout: 120 }),
      ],
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'g4dn.xlarge',
        MetadataOptions: { HttpTokens: 'required' },
      }),
    });
    const parameters = JSON.stringify(template.toJSON().Parameters);
    expect(parameters).toContain('/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id');
    template.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: Match.objectLike({ ManagedScaling: Match.objectLike({ Status: 'ENABLED' }) }),
    });
  });

  it('get the stack resources and the CUDA provider in their environment', () => {
    const env = containerEnv(ids.workerTask);
    expect(env).toMatchObject({
      S3_ENDPOINT: 'aws',
      SQS_ENDPOINT: 'aws',
      EXECUTION_PROVIDERS: 'cuda,cpu',
      BOOTSTRAP_RESOURCES: 'false',
      S3_BUCKET: { Ref: ids.bucket },
      SQS_QUEUE_URL: { Ref: ids.jobs },
      SQS_DLQ_URL: { Ref: ids.dlq },
      MAX_RECEIVE_COUNT: '4',
      VISIBILITY_TIMEOUT: '600',
    });
    // The worker's own grace must end before ECS's SIGKILL.
    expect(Number(env.WORKER_SHUTDOWN_GRACE_MS)).toBeLessThan(120_000);
  });
});

describe('API', () => {
  it('runs on Fargate behind a public load balancer that checks /ready', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/ready',
      TargetType: 'ip',
    });
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      LoadBalancers: [Match.objectLike({ ContainerName: 'api', ContainerPort: 8000 })],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    template.hasResourceProperties('AWS::ECS::Service', { LaunchType: 'FARGATE', DesiredCount: 2 });
    expect(containerEnv(ids.apiTask)).toMatchObject({
      S3_ENDPOINT: 'aws',
      SQS_QUEUE_URL: { Ref: ids.jobs },
      CORS_ORIGINS: 'https://app.example,https://admin.example',
      DOWNLOAD_MODE: 'proxy',
      PORT: '8000',
    });
  });

  it('serves HTTPS with a redirect from HTTP when a certificate is given', () => {
    const arn = 'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000';
    const { template: https } = synth({ certificateArn: arn });
    https.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: arn }],
    });
    https.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Protocol: 'HTTPS' }) })],
    });
  });
});

describe('container environments', () => {
  /** CloudFormation references replaced by values of the shape AWS gives them at deploy time. */
  function resolved(env: Record<string, unknown>): Record<string, string> {
    const values: Record<string, string> = {
      [ids.bucket]: 'photoenhance-bucket83908e77-1a2b3c4d5e6f',
      [ids.jobs]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Test-QueuesJobsQueue-abc',
      [ids.dlq]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Test-QueuesDeadLetterQueue-def',
      [ids.topic]: 'arn:aws:sns:eu-west-1:123456789012:Test-TaskChangesTopic2047A6B1-ghi',
      'AWS::Region': 'eu-west-1',
    };
    return Object.fromEntries(
      Object.entries(env).map(([name, value]) => {
        if (typeof value === 'string') return [name, value];
        const ref = (value as { Ref?: string }).Ref ?? '';
        if (!(ref in values)) throw new Error(`${name}: unexpected reference ${JSON.stringify(value)}`);
        return [name, values[ref] as string];
      }),
    );
  }

  it("are accepted by the services' own config schemas, pointing at AWS with no static keys", () => {
    const api = loadApiConfig(resolved(containerEnv(ids.apiTask)));
    expect(api.S3_ENDPOINT).toBeUndefined();
    expect(api.SQS_QUEUE_URL).toContain('JobsQueue');
    expect(api.BOOTSTRAP_RESOURCES).toBe(false);
    expect(api.AWS_ACCESS_KEY_ID).toBeUndefined();
    expect(api.RETENTION_HOURS).toBe(36.5);
    expect(api.TASK_CHANGES_TOPIC_ARN).toContain(':sns:eu-west-1:');
    const worker = loadWorkerConfig(resolved(containerEnv(ids.workerTask)));
    expect(worker.SQS_DLQ_URL).toContain('DeadLetterQueue');
    expect(worker.EXECUTION_PROVIDERS).toEqual(['cuda', 'cpu']);
    expect(worker.VISIBILITY_TIMEOUT).toBe(600);
  });
});
