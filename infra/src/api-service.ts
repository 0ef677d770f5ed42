import {
  aws_certificatemanager as acm,
  Duration,
  aws_ecs as ecs,
  aws_ecs_patterns as ecsPatterns,
  aws_logs as logs,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { DeploymentSettings } from './settings.ts';

export interface ApiServiceProps {
  cluster: ecs.ICluster;
  image: ecs.ContainerImage;
  environment: Record<string, string>;
  settings: Pick<
    DeploymentSettings,
    'apiCpu' | 'apiMemoryMiB' | 'apiDesiredCount' | 'apiMaxCount' | 'certificateArn' | 'corsOrigins' | 'retentionHours'
  >;
  /** Secrets Manager values given to the container as secrets (API_KEYS, ADMIN_API_KEY, …), never plain env. */
  secrets?: Record<string, ecs.Secret>;
}

export const API_PORT = 8000;

/**
 * The HTTP API on Fargate behind a public Application Load Balancer. Tasks are stateless (S3 holds all state),
 * so they scale on CPU; the load balancer only sends traffic to tasks whose /ready sees S3 and SQS.
 */
export class ApiService extends Construct {
  readonly service: ecsPatterns.ApplicationLoadBalancedFargateService;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiServiceProps) {
    super(scope, id);
    const { settings } = props;
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    const certificate = settings.certificateArn
      ? acm.Certificate.fromCertificateArn(this, 'Certificate', settings.certificateArn)
      : undefined;

    this.service = new ecsPatterns.ApplicationLoadBalancedFargateService(this, 'Service', {
      cluster: props.cluster,
      cpu: settings.apiCpu,
      memoryLimitMiB: settings.apiMemoryMiB,
      desiredCount: settings.apiDesiredCount,
      publicLoadBalancer: true,
      ...(certificate ? { certificate, redirectHTTP: true } : {}),
      // Server-sent progress events keep a response open; the default 60 s would cut quiet streams.
      idleTimeout: Duration.seconds(300),
      minHealthyPercent: 100,
      circuitBreaker: { rollback: true },
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskImageOptions: {
        image: props.image,
        containerName: 'api',
        containerPort: API_PORT,
        environment: {
          ...props.environment,
          PORT: String(API_PORT),
          // CORS_ORIGINS is added below: with the default (*) it is the load balancer's own origin, since the
          // image runs with NODE_ENV=production, which refuses CORS for any origin.
          // Downloads answer 200 with the file (streamed from S3), as PhotoEnhanceAI's clients expect; clients that
          // follow redirects ask for the presigned URL with ?redirect=true and take the bytes straight from S3.
          DOWNLOAD_MODE: 'proxy',
          RETENTION_HOURS: String(settings.retentionHours),
        },
        ...(props.secrets ? { secrets: props.secrets } : {}),
        logDriver: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'api' }),
      },
    });
    const ownOrigin = `${certificate ? 'https' : 'http'}://${this.service.loadBalancer.loadBalancerDnsName}`;
    const origins = settings.corsOrigins.filter((origin) => origin !== '*');
    this.service.taskDefinition.defaultContainer?.addEnvironment(
      'CORS_ORIGINS',
      (origins.length > 0 ? origins : [ownOrigin]).join(','),
    );
    this.service.targetGroup.configureHealthCheck({
      path: '/ready',
      healthyHttpCodes: '200',
      interval: Duration.seconds(15),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 3,
    });
    // In-flight uploads get time to finish when a task is replaced.
    this.service.targetGroup.setAttribute('deregistration_delay.timeout_seconds', '30');

    this.service.service
      .autoScaleTaskCount({ minCapacity: settings.apiDesiredCount, maxCapacity: settings.apiMaxCount })
      .scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
  }
}
