/** Synthesizes the stack for assertions: no AWS account, no Docker (images are registry references). */
import { App, aws_ecs as ecs } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type DeploymentSettings, readDeploymentSettings } from '../src/settings.ts';
import { PhotoEnhanceStack } from '../src/stack.ts';

export const TEST_IMAGES = {
  api: ecs.ContainerImage.fromRegistry('registry.example/photoenhance/api:test'),
  worker: ecs.ContainerImage.fromRegistry('registry.example/photoenhance/gpu-worker:test'),
};

export function synth(context: Record<string, string> = {}): { template: Template; settings: DeploymentSettings } {
  const app = new App({ context });
  const settings = readDeploymentSettings((key) => app.node.tryGetContext(key));
  const stack = new PhotoEnhanceStack(app, 'Test', { settings, images: TEST_IMAGES });
  return { template: Template.fromStack(stack), settings };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

export function resources(template: Template): Resources {
  return template.toJSON().Resources as Resources;
}

/** Properties of one resource by logical id; throws when it is missing. */
export function propertiesOf(template: Template, logicalId: string): Record<string, unknown> {
  const resource = resources(template)[logicalId];
  if (!resource) throw new Error(`no resource ${logicalId}`);
  return resource.Properties ?? {};
}

export function logicalIdOf(
  template: Template,
  type: string,
  match: (props: Record<string, unknown>) => boolean = () => true,
): string {
  const ids = Object.entries(resources(template))
    .filter(([, r]) => r.Type === type && match(r.Properties ?? {}))
    .map(([id]) => id);
  const [id, ...others] = ids;
  if (id === undefined || others.length > 0)
    throw new Error(`expected one ${type}, found ${ids.length}: ${ids.join(', ')}`);
  return id;
}

/**
 * A policy resource in readable form: `bucket`, `bucket/inputs/*`, `queue:<logicalId>`, `topic:<name>`,
 * `queues:<prefix>*` (an ARN pattern of this stack's account and region), or the raw JSON for anything else
 * (which the tests then reject, e.g. "*").
 */
export function describeResource(
  resource: unknown,
  names: { bucket: string; queues: Record<string, string>; topics?: Record<string, string> },
): string {
  const json = JSON.stringify(resource);
  for (const [name, id] of Object.entries(names.topics ?? {})) {
    if (json === JSON.stringify({ Ref: id })) return `topic:${name}`;
  }
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  const sqsArnHead = [
    'arn:',
    { Ref: 'AWS::Partition' },
    ':sqs:',
    { Ref: 'AWS::Region' },
    ':',
    { Ref: 'AWS::AccountId' },
  ];
  if (
    join &&
    join[0] === '' &&
    join[1].length === 7 &&
    JSON.stringify(join[1].slice(0, 6)) === JSON.stringify(sqsArnHead) &&
    typeof join[1][6] === 'string'
  ) {
    return `queues:${join[1][6].replace(/^:/, '')}`;
  }
  const bucketArn = JSON.stringify({ 'Fn::GetAtt': [names.bucket, 'Arn'] });
  if (json === bucketArn) return 'bucket';
  if (join && join[0] === '' && JSON.stringify(join[1][0]) === bucketArn && join[1].length === 2) {
    return `bucket${String(join[1][1])}`;
  }
  for (const [name, id] of Object.entries(names.queues)) {
    if (json === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })) return `queue:${name}`;
  }
  return json;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Sid?: string;
}

/** Statements of the IAM policies attached to the task role of the ECS task definition `taskDefinitionId`. */
export function taskRoleStatements(template: Template, taskDefinitionId: string): Statement[] {
  const roleArn = propertiesOf(template, taskDefinitionId).TaskRoleArn as { 'Fn::GetAtt': [string, string] };
  const roleRef = JSON.stringify({ Ref: roleArn['Fn::GetAtt'][0] });
  return Object.values(resources(template))
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .map((r) => r.Properties as { Roles: unknown[]; PolicyDocument: { Statement: Statement[] } })
    .filter((policy) => policy.Roles.some((role) => JSON.stringify(role) === roleRef))
    .flatMap((policy) => policy.PolicyDocument.Statement);
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export function resourcesOf(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}
