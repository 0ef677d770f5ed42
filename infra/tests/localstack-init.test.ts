import { execFile, execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEmbeddedBackend } from '@photoenhance/core';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/images.ts';

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'localstack/init/ready.d/10-photoenhance.sh');

function awsCliVersion(): string | undefined {
  try {
    return execFileSync('aws', ['--version'], { encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch {
    return undefined;
  }
}
const awsCli = awsCliVersion();
if (!awsCli) console.info('LocalStack init script is not run against an emulator: the aws CLI is not installed');

describe('localstack/init/ready.d/10-photoenhance.sh', () => {
  it('is an executable bash script that parses', () => {
    // LocalStack runs only executable files from ready.d.
    expect(statSync(SCRIPT).mode & 0o111).not.toBe(0);
    expect(execFileSync('bash', ['-n', SCRIPT], { encoding: 'utf8' })).toBe('');
  });

  // Runs the script with the real aws CLI against the project's S3 + SQS emulator (fauxqs), twice.
  it.skipIf(!awsCli)(
    'creates the DLQ, the jobs queue with its redrive policy and the bucket, idempotently',
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'photoenhance-localstack-init-'));
      const backend = await startEmbeddedBackend({ dataDir, port: 0, region: 'us-east-1' });
      try {
        const env = {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          AWS_ACCESS_KEY_ID: backend.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: backend.credentials.secretAccessKey,
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_CLI: `aws --endpoint-url=${backend.sqsEndpoint}`,
          SQS_QUEUE_NAME: 'init-jobs',
          SQS_DLQ_NAME: 'init-jobs-dlq',
          S3_BUCKET: 'init-bucket',
          MAX_RECEIVE_COUNT: '5',
          VISIBILITY_TIMEOUT: '120',
          CORS_ORIGINS: 'https://app.example',
        };
        const first = await run('bash', [SCRIPT], { env });
        expect(first.stdout).toContain('bucket init-bucket created');
        const second = await run('bash', [SCRIPT], { env });
        expect(second.stdout).toContain('bucket init-bucket exists');

        const aws = ['--endpoint-url', backend.sqsEndpoint, '--region', 'us-east-1', '--output', 'json'];
        const { stdout: urls } = await run('aws', [...aws, 'sqs', 'list-queues'], { env });
        const queueUrls = (JSON.parse(urls) as { QueueUrls: string[] }).QueueUrls;
        expect(queueUrls.filter((u) => /init-jobs(-dlq)?$/.test(u))).toHaveLength(2);
        const jobsUrl = queueUrls.find((u) => u.endsWith('/init-jobs')) ?? '';
        const { stdout } = await run(
          'aws',
          [...aws, 'sqs', 'get-queue-attributes', '--queue-url', jobsUrl, '--attribute-names', 'All'],
          { env },
        );
        const attributes = (JSON.parse(stdout) as { Attributes: Record<string, string> }).Attributes;
        expect(attributes.VisibilityTimeout).toBe('120');
        const redrive = JSON.parse(attributes.RedrivePolicy ?? '{}') as {
          deadLetterTargetArn: string;
          maxReceiveCount: number;
        };
        expect(Number(redrive.maxReceiveCount)).toBe(5);
        expect(redrive.deadLetterTargetArn).toMatch(/:init-jobs-dlq$/);

        await run('aws', [...aws, 's3api', 'head-bucket', '--bucket', 'init-bucket'], { env });
      } finally {
        await backend.stop();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  );
});
