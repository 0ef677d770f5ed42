import {
  aws_applicationautoscaling as appscaling,
  aws_autoscaling as autoscaling,
  aws_cloudwatch as cloudwatch,
  Duration,
  aws_ec2 as ec2,
  aws_ecs as ecs,
  aws_iam as iam,
  aws_logs as logs,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { JobQueues } from './queues.ts';
import type { DeploymentSettings } from './settings.ts';

export interface GpuWorkerServiceProps {
  cluster: ecs.Cluster;
  vpc: ec2.IVpc;
  image: ecs.ContainerImage;
  queues: JobQueues;
  environment: Record<string, string>;
  settings: Pick<DeploymentSettings, 'gpuInstanceType' | 'minWorkers' | 'maxWorkers' | 'workerMemoryMiB'>;
  /** Secrets Manager values given to the container as secrets (CALLBACK_SECRET, WORKER_REGISTRATION_SECRET). */
  secrets?: Record<string, ecs.Secret>;
}

export const WORKER_PORT = 8001;
/** What ECS waits between SIGTERM and SIGKILL; the worker's own grace (below) fits inside it. */
const STOP_TIMEOUT = Duration.seconds(120);
const SHUTDOWN_GRACE_MS = 100_000;

/**
 * GPU workers: an Auto Scaling group of GPU instances (ECS GPU-optimised AMI) joined to the cluster as a capacity
 * provider, and an EC2 service with one task per GPU. The task count follows the queue: jobs waiting add
 * workers, and a queue with nothing waiting or in flight removes them, down to minWorkers (0 by default: no
 * GPU is paid for while idle). ECS managed scaling then adds or removes instances to fit the tasks.
 */
export class GpuWorkerService extends Construct {
  readonly service: ecs.Ec2Service;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly capacityProvider: ecs.AsgCapacityProvider;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GpuWorkerServiceProps) {
    super(scope, id);
    const { settings, queues } = props;

    const instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      // Session Manager instead of SSH: no inbound port on GPU hosts.
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(settings.gpuInstanceType),
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.GPU),
      // The cluster appends its ECS_CLUSTER line to this when the group joins it.
      userData: ec2.UserData.forLinux(),
      role: instanceRole,
      requireImdsv2: true,
      // Hop limit 1: a container (one network hop further) cannot reach the instance metadata service, so a
      // compromised job cannot take the instance role's credentials. Tasks get theirs from the ECS agent.
      httpPutResponseHopLimit: 1,
      securityGroup: new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
        vpc: props.vpc,
        description: 'PhotoEnhance GPU workers: no inbound traffic, outbound to S3, SQS and ECR',
        allowAllOutbound: true,
      }),
      blockDevices: [
        {
          // The worker image (CUDA, cuDNN, models) is several GB; keep room for two versions during a deploy.
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(100, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true }),
        },
      ],
    });
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Instances', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate,
      minCapacity: 0,
      maxCapacity: settings.maxWorkers,
    });
    this.capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: this.autoScalingGroup,
      machineImageType: ecs.MachineImageType.AMAZON_LINUX_2,
      enableManagedScaling: true,
      targetCapacityPercent: 100,
      // Instances running a job are not terminated by scale-in; ECS drains them first.
      enableManagedTerminationProtection: true,
    });
    props.cluster.addAsgCapacityProvider(this.capacityProvider);

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    const taskDefinition = new ecs.Ec2TaskDefinition(this, 'TaskDefinition');
    taskDefinition.addContainer('gpu-worker', {
      image: props.image,
      gpuCount: 1,
      memoryReservationMiB: settings.workerMemoryMiB,
      environment: {
        ...props.environment,
        EXECUTION_PROVIDERS: 'cuda,cpu',
        WORKER_PORT: String(WORKER_PORT),
        WORKER_SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      },
      ...(props.secrets ? { secrets: props.secrets } : {}),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'gpu-worker' }),
      stopTimeout: STOP_TIMEOUT,
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${WORKER_PORT}/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(120),
      },
    });

    this.service = new ecs.Ec2Service(this, 'Service', {
      cluster: props.cluster,
      taskDefinition,
      desiredCount: settings.minWorkers,
      capacityProviderStrategies: [{ capacityProvider: this.capacityProvider.capacityProviderName, weight: 1 }],
      // Each task holds a whole GPU instance: replace workers one by one instead of doubling the fleet.
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      circuitBreaker: { rollback: true },
    });

    const scaling = this.service.autoScaleTaskCount({
      minCapacity: settings.minWorkers,
      maxCapacity: settings.maxWorkers,
    });
    const visible = queues.jobs.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    // Numbers chosen with `npm run bench:autoscaling` (bench/autoscaling/simulator.ts: this policy on a seeded bursty
    // trace, 4-minute GPU host start; bench/RESULTS.md "Autoscaling"). Against the former +1/+2/+4 at 1/10/50,
    // 3-minute cooldown and "nothing waiting or running for 10 minutes": 33 % fewer idle GPU-minutes (912 vs
    // 1370 over 6 h) for a p95 wait 9 % longer (311 vs 285 s, both dominated by the host start).
    // Jobs waiting: add workers, more at once for a long queue; a 2-minute cooldown lets a burst that outgrows the
    // first step add more before the first hosts are even up.
    scaling.scaleOnMetric('QueueDepthScaleOut', {
      metric: visible,
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: 0, change: 0 },
        { lower: 1, change: +1 },
        { lower: 5, change: +2 },
        { lower: 20, change: +4 },
      ],
      cooldown: Duration.minutes(2),
    });
    // Remove a worker once nothing has waited for 10 minutes: the workers keep up. The former rule (nothing waiting
    // *and nothing running*) never fired under a trickle of photos — one every few minutes kept every worker of the
    // last burst, idle, for hours. A worker stopped mid-job finishes it first (SIGTERM, WORKER_SHUTDOWN_GRACE_MS
    // below, inside the container's stopTimeout), or hands it back to the queue.
    scaling.scaleOnMetric('IdleScaleIn', {
      metric: visible,
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: 0, change: -1 },
        { lower: 1, change: 0 },
      ],
      evaluationPeriods: 10,
      cooldown: Duration.minutes(5),
    });
  }
}
