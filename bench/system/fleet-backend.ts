/**
 * The backend of the fleet benches (scaling, multi-api, cost): the external S3 + SQS named by S3_ENDPOINT and
 * SQS_ENDPOINT (MinIO + ElasticMQ from scripts/real-servers), or else the embedded fauxqs started in this
 * process and signed for with its own random credentials. One place, so every fleet bench says the same thing
 * about what it ran on and every process it starts signs the same way.
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedBackend, embeddedEnv, startEmbeddedBackend } from '@photoenhance/core';

export interface FleetBackend {
  /** What the bench ran on, for its output. */
  name: string;
  s3Endpoint: string;
  sqsEndpoint: string;
  embedded: boolean;
  /** Variables every API and worker of the bench connects and signs with (endpoints, credentials, bucket). */
  env: Record<string, string>;
  /** The storage and queue server processes (MinIO, ElasticMQ) by name, when external and started by
   * scripts/real-servers (their pid files); empty for the embedded backend, which runs in this process. */
  serverPids: Map<string, number[]>;
  stop(): Promise<void>;
}

/** pid files of scripts/real-servers/start.sh: $PE_REAL_RUN_DIR, by default $TMPDIR/photoenhance-real-servers-<MinIO port>. */
async function realServerPids(s3Endpoint: string): Promise<Map<string, number[]>> {
  const port = new URL(s3Endpoint).port;
  const runDir =
    process.env.PE_REAL_RUN_DIR ?? join(process.env.TMPDIR ?? tmpdir(), `photoenhance-real-servers-${port}`);
  const pids = new Map<string, number[]>();
  for (const name of ['minio', 'elasticmq']) {
    const pid = Number((await readFile(join(runDir, `${name}.pid`), 'utf8').catch(() => '')).trim());
    if (pid > 0) pids.set(name, [pid]);
  }
  return pids;
}

export async function openFleetBackend(dataDir: string): Promise<FleetBackend> {
  const s3 = process.env.S3_ENDPOINT;
  const sqs = process.env.SQS_ENDPOINT;
  if (s3 && sqs) {
    return {
      name: `external (S3 ${s3}, SQS ${sqs})`,
      s3Endpoint: s3,
      sqsEndpoint: sqs,
      embedded: false,
      env: {
        S3_ENDPOINT: s3,
        SQS_ENDPOINT: sqs,
        // The real servers' credentials (scripts/real-servers env.sh).
        AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
        AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
        ...(process.env.S3_BUCKET ? { S3_BUCKET: process.env.S3_BUCKET } : {}),
      },
      serverPids: await realServerPids(s3),
      async stop() {},
    };
  }
  const embedded: EmbeddedBackend = await startEmbeddedBackend({ dataDir, port: 0 });
  // The embedded backend accepts only its own (random) credentials: every process of the bench signs with them
  // (set here too for anything in this process that reads the environment).
  process.env.AWS_ACCESS_KEY_ID = embedded.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = embedded.credentials.secretAccessKey;
  return {
    name: 'embedded fauxqs (in the bench process)',
    s3Endpoint: embedded.s3Endpoint,
    sqsEndpoint: embedded.sqsEndpoint,
    embedded: true,
    env: embeddedEnv(embedded),
    serverPids: new Map(),
    stop: () => embedded.stop(),
  };
}
