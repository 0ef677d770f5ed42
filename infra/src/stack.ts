import {
  CfnOutput,
  aws_cloudwatch as cloudwatch,
  Duration,
  aws_ec2 as ec2,
  aws_ecs as ecs,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { grantApiAccess, grantWorkerAccess } from './access.ts';
import { ApiService } from './api-service.ts';
import { commonEnvironment } from './environment.ts';
import type { ServiceImages } from './images.ts';
import { JobQueues } from './queues.ts';
import { createAccessLogBucket, createServiceSecrets, rateLimitLoadBalancer } from './security.ts';
import type { DeploymentSettings } from './settings.ts';
import { createJobBucket } from './storage.ts';
import { TaskChangeNotices } from './task-changes.ts';
import { GpuWorkerService } from './worker-service.ts';

export interface PhotoEnhanceStackProps extends StackProps {
  settings: DeploymentSettings;
  /** Injected so tests (and CI pipelines with prebuilt images) need no Docker build. */
  images: ServiceImages;
}

/**
 * PhotoEnhance on AWS: one S3 bucket and one SQS queue (+ DLQ) hold all state and work (design.md §1), the API
 * runs on Fargate behind a load balancer, GPU workers run on EC2 GPU instances that scale with the queue.
 */
export class PhotoEnhanceStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly bucket;
  readonly queues: JobQueues;
  readonly cluster: ecs.Cluster;
  readonly api: ApiService;
  readonly taskChanges: TaskChangeNotices;
  readonly workers: GpuWorkerService;

  constructor(scope: Construct, id: string, props: PhotoEnhanceStackProps) {
    super(scope, id, props);
    const { settings, images } = props;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      // One NAT gateway keeps the idle cost low; the S3 gateway endpoint carries the image traffic for free.
      natGateways: 1,
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    this.bucket = createJobBucket(this, settings, createAccessLogBucket(this));
    const secrets = createServiceSecrets(this);
    this.queues = new JobQueues(this, 'Queues', settings);
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    const environment = commonEnvironment(this, this.bucket, this.queues, settings);
    // Progress notices for viewers on any API instance: S3 events on tasks/ → SNS → one SQS queue per instance.
    this.taskChanges = new TaskChangeNotices(this, 'TaskChanges', this.bucket);
    this.api = new ApiService(this, 'Api', {
      cluster: this.cluster,
      image: images.api,
      environment: { ...environment, ...this.taskChanges.environment() },
      settings,
      secrets: {
        API_KEYS: ecs.Secret.fromSecretsManager(secrets.apiKeys),
        ADMIN_API_KEY: ecs.Secret.fromSecretsManager(secrets.adminKey),
        WORKER_REGISTRATION_SECRET: ecs.Secret.fromSecretsManager(secrets.registration),
      },
    });
    rateLimitLoadBalancer(this, this.api.service.loadBalancer.loadBalancerArn, settings.wafRequestsPer5Minutes);
    grantApiAccess(this.api.service.taskDefinition.taskRole, this.bucket, this.queues);
    this.taskChanges.grantApi(this.api.service.taskDefinition.taskRole);

    this.workers = new GpuWorkerService(this, 'Workers', {
      cluster: this.cluster,
      vpc: this.vpc,
      image: images.worker,
      queues: this.queues,
      environment,
      settings,
      secrets: {
        CALLBACK_SECRET: ecs.Secret.fromSecretsManager(secrets.callback),
        WORKER_REGISTRATION_SECRET: ecs.Secret.fromSecretsManager(secrets.registration),
      },
    });
    grantWorkerAccess(this.workers.service.taskDefinition.taskRole, this.bucket, this.queues);

    // A job in the DLQ failed MAX_RECEIVE_COUNT times (its task is marked EXHAUSTED): worth a look.
    new cloudwatch.Alarm(this, 'DeadLetteredJobs', {
      alarmDescription: 'PhotoEnhance jobs reached the dead-letter queue',
      metric: this.queues.deadLetter.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const scheme = settings.certificateArn ? 'https' : 'http';
    new CfnOutput(this, 'ApiUrl', { value: `${scheme}://${this.api.service.loadBalancer.loadBalancerDnsName}` });
    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
    new CfnOutput(this, 'JobsQueueUrl', { value: this.queues.jobs.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.queues.deadLetter.queueUrl });
    new CfnOutput(this, 'TaskChangesTopicArn', { value: this.taskChanges.topic.topicArn });
  }
}
