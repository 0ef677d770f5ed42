/**
 * CDK app entry: `npm run synth` writes the CloudFormation template to infra/cdk.out; with the CDK CLI,
 * `npx aws-cdk deploy` (run in infra/) deploys it. Settings come from CDK context: cdk.json or `-c key=value`
 * (see settings.ts), e.g. `-c maxWorkers=8 -c gpuInstanceType=g4dn.xlarge -c corsOrigins=https://app.example`.
 */
import { App } from 'aws-cdk-lib';
import { serviceImages } from './images.ts';
import { readDeploymentSettings } from './settings.ts';
import { PhotoEnhanceStack } from './stack.ts';

// The CDK CLI passes its output folder in CDK_OUTDIR; run directly (npm run synth), write to infra/cdk.out.
const app = new App(process.env.CDK_OUTDIR ? {} : { outdir: 'cdk.out' });
let settings: ReturnType<typeof readDeploymentSettings>;
try {
  settings = readDeploymentSettings((key) => app.node.tryGetContext(key));
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'PhotoEnhance';

const stack = new PhotoEnhanceStack(app, stackName, {
  settings,
  images: serviceImages(settings),
  // The account and region of the deploying credentials (set by the CDK CLI); environment-agnostic otherwise.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'PhotoEnhance: portrait enhancement API (Fargate) with GPU workers (EC2) over S3 and SQS',
});
const assembly = app.synth();
if (!process.env.CDK_OUTDIR) {
  const artifact = assembly.getStackByName(stack.stackName);
  const resources = Object.keys((artifact.template as { Resources?: object }).Resources ?? {}).length;
  process.stdout.write(`synthesized ${stack.stackName}: ${resources} resources -> ${artifact.templateFullPath}\n`);
}
