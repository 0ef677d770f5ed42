/**
 * Issue 17 §4 (CDK): secrets from Secrets Manager (never plain environment), HTTPS with a redirect, IAM narrowed
 * (ListBucket by prefix, no cancel markers from workers), bucket access logs, instance metadata out of the
 * containers' reach, a WAF rate-based rule per IP, and production-ready container settings.
 */
import { loadApiConfig } from '@photoenhance/api';
import { loadWorkerConfig } from '@photoenhance/gpu-worker';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { logicalIdOf, propertiesOf, resources, synth, taskRoleStatements } from './synth.ts';

let template: ReturnType<typeof synth>['template'];
let ids: { bucket: string; apiTask: string; workerTask: string };

beforeAll(() => {
  ({ template } = synth({ wafRequestsPer5Minutes: '1500', corsOrigins: 'https://app.example' }));
  const task = (kind: string) =>
    logicalIdOf(
      template,
      'AWS::ECS::TaskDefinition',
      (p) => (p.RequiresCompatibilities as string[] | undefined)?.includes(kind) === true,
    );
  ids = {
    bucket: logicalIdOf(template, 'AWS::S3::Bucket', (p) => p.LoggingConfiguration !== undefined),
    apiTask: task('FARGATE'),
    workerTask: task('EC2'),
  };
});

interface ContainerDefinition {
  Environment?: { Name: string; Value: unknown }[];
  Secrets?: { Name: string; ValueFrom: unknown }[];
}
function container(taskDefinitionId: string): ContainerDefinition {
  const [first] = propertiesOf(template, taskDefinitionId).ContainerDefinitions as ContainerDefinition[];
  if (!first) throw new Error('no container');
  return first;
}

describe('secrets', () => {
  it('are generated in Secrets Manager and given to the containers as secrets, not environment', () => {
    const secrets = Object.entries(resources(template)).filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(4);
    for (const [, secret] of secrets) {
      expect(secret.Properties?.GenerateSecretString).toMatchObject({ PasswordLength: 48, ExcludePunctuation: true });
    }
    const secretIds = new Set(secrets.map(([id]) => id));
    const check = (taskId: string, names: string[]) => {
      const { Environment = [], Secrets = [] } = container(taskId);
      expect(Secrets.map((s) => s.Name).sort()).toEqual([...names].sort());
      for (const s of Secrets) expect(secretIds.has((s.ValueFrom as { Ref: string }).Ref), s.Name).toBe(true);
      expect(Environment.filter((e) => /KEY|SECRET/.test(e.Name)).map((e) => e.Name)).toEqual([]);
    };
    check(ids.apiTask, ['API_KEYS', 'ADMIN_API_KEY', 'WORKER_REGISTRATION_SECRET']);
    check(ids.workerTask, ['CALLBACK_SECRET', 'WORKER_REGISTRATION_SECRET']);
  });
});

describe('IAM', () => {
  it('lists the bucket only under the prefixes each role works in', () => {
    for (const [taskId, prefixes] of [
      [ids.apiTask, ['inputs/*', 'outputs/*', 'tasks/*', 'batches/*', 'workers/*', 'uploads/*', 'replays/*']],
      [ids.workerTask, ['inputs/*', 'outputs/*', 'tasks/*']],
    ] as const) {
      const list = taskRoleStatements(template, taskId).find((s) => s.Action === 's3:ListBucket') as
        | { Condition?: unknown }
        | undefined;
      expect(list?.Condition).toEqual({ StringLikeIfExists: { 's3:prefix': prefixes } });
    }
  });
});

describe('bucket access logs', () => {
  it('go to a private, TLS-only bucket of their own, kept 90 days', () => {
    const logging = propertiesOf(template, ids.bucket).LoggingConfiguration as {
      DestinationBucketName: { Ref: string };
      LogFilePrefix: string;
    };
    const logs = propertiesOf(template, logging.DestinationBucketName.Ref);
    expect(logging.LogFilePrefix).toBe('job-bucket/');
    expect(logs.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true, RestrictPublicBuckets: true });
    expect(JSON.stringify(logs.LifecycleConfiguration)).toContain('"ExpirationInDays":90');
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logging.DestinationBucketName.Ref },
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      }),
    });
  });
});

describe('GPU hosts', () => {
  it('require IMDSv2 with a hop limit of 1, so containers cannot reach instance metadata', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: Match.objectLike({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 }),
      }),
    });
  });
});

describe('WAF', () => {
  it('blocks an IP over the rate limit at the load balancer', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({
          Action: { Block: {} },
          Statement: { RateBasedStatement: { Limit: 1500, AggregateKeyType: 'IP' } },
        }),
      ],
    });
    const lb = logicalIdOf(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { ResourceArn: { Ref: lb } });
  });
});

describe('production containers', () => {
  it('start with NODE_ENV=production: keys and secrets present, CORS never *', () => {
    const env = (taskId: string) =>
      Object.fromEntries(
        (container(taskId).Environment ?? []).flatMap((e) =>
          // CloudFormation references resolved to values of the shape AWS gives them at deploy time.
          typeof e.Value === 'string'
            ? [[e.Name, e.Value]]
            : [
                [
                  e.Name,
                  e.Name === 'S3_BUCKET'
                    ? 'photoenhance-resolved'
                    : e.Name === 'TASK_CHANGES_TOPIC_ARN'
                      ? 'arn:aws:sns:eu-west-1:123456789012:Test-TaskChangesTopic-abc'
                      : 'https://resolved.example/123/queue',
                ],
              ],
        ),
      );
    const secretValue = 'S'.repeat(48);
    const api = loadApiConfig({
      ...env(ids.apiTask),
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      API_KEYS: secretValue,
      ADMIN_API_KEY: secretValue,
    });
    expect(api.CORS_ORIGINS).toBe('https://app.example');
    expect(() => loadWorkerConfig({ ...env(ids.workerTask), NODE_ENV: 'production' })).toThrow(/CALLBACK_SECRET/);
    expect(
      loadWorkerConfig({ ...env(ids.workerTask), NODE_ENV: 'production', CALLBACK_SECRET: secretValue }),
    ).toBeTruthy();
  });

  it("default the API's CORS to the load balancer's own origin rather than *", () => {
    const { template: defaults } = synth();
    const apiTask = logicalIdOf(
      defaults,
      'AWS::ECS::TaskDefinition',
      (p) => (p.RequiresCompatibilities as string[] | undefined)?.includes('FARGATE') === true,
    );
    const [def] = propertiesOf(defaults, apiTask).ContainerDefinitions as ContainerDefinition[];
    const cors = def?.Environment?.find((e) => e.Name === 'CORS_ORIGINS')?.Value;
    expect(cors).not.toBe('*');
    expect(JSON.stringify(cors)).toContain('DNSName');
  });
});
