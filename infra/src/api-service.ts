import {
  aws_certificatemanager as acm,
  Duration,
  aws_ecs as ecs,
  aws_ecs_patterns as ecsPatterns,
  aws_logs as logs,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { DeploymentSettings } from './settings.ts';
import { ApiRateFirewall } from './waf.ts';

export interface ApiServiceProps {
  cluster: ecs.ICluster;
  image: ecs.ContainerImage;
  environment: Record<string, string>;
  settings: Pick<
    DeploymentSettings,
    | 'apiCpu'
    | 'apiMemoryMiB'
    | 'apiDesiredCount'
    | 'apiMaxCount'
    | 'certificateArn'
    | 'corsOrigins'
    | 'retentionHours'
    | 'wafRequestsPer5Minutes'
  >;
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
          CORS_ORIGINS: settings.corsOrigins.join(','),
          // Browsers download straight from S3 through presigned URLs; the API never streams results.
          DOWNLOAD_MODE: 'redirect',
          RETENTION_HOURS: String(settings.retentionHours),
        },
        logDriver: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'api' }),
      },
    });
    this.service.targetGroup.configureHealthCheck({
      path: '/ready',
      healthyHttpCodes: '200',
      interval: Duration.seconds(15),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 3,
    });
    // In-flight uploads get time to finish when a task is replaced.
    this.service.targetGroup.setAttribute('deregistration_delay.timeout_seconds', '30');

    new ApiRateFirewall(this, 'RateFirewall', {
      loadBalancer: this.service.loadBalancer,
      requestsPer5Minutes: settings.wafRequestsPer5Minutes,
    });

    this.service.service
      .autoScaleTaskCount({ minCapacity: settings.apiDesiredCount, maxCapacity: settings.apiMaxCount })
      .scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
  }
}
