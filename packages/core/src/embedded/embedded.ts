import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import type { Logger } from 'pino';
import { DEFAULT_EMBEDDED_PORT } from '../config/common.ts';
import { createS3Client } from '../storage/s3-client.ts';
import { createS3Storage } from '../storage/s3-storage.ts';
import { type EmbeddedCredentials, loadOrCreateEmbeddedCredentials } from './credentials.ts';
import { type FauxqsServer, fauxqsFile, startFauxqsOnSocket } from './fauxqs-server.ts';
import { type EmbeddedFront, startEmbeddedFront } from './front.ts';
import { startUploadSweeper, type UploadSweeper } from './upload-sweeper.ts';

/** Loopback names the embedded backend may listen on; it never listens on a network interface. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export interface EmbeddedBackendOptions {
  /** State lives under {dataDir}/embedded: SQLite for SQS, plain files for S3 objects, its credentials. */
  dataDir: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** A loopback address (default 127.0.0.1); anything else is refused. */
  host?: string;
  region?: string;
  /** Origins whose pages may PUT/GET presigned URLs (CORS); more can be added once the API listens. */
  corsOrigins?: Iterable<string>;
  /**
   * The bucket whose pending direct uploads are swept (fauxqs has no lifecycle rules; see upload-sweeper.ts).
   * Unset: no sweep.
   */
  sweepBucket?: string;
  /** Default UPLOAD_SWEEP_INTERVAL_MS. */
  sweepIntervalMs?: number;
  logger?: Logger;
}

export interface EmbeddedBackend {
  s3Endpoint: string;
  sqsEndpoint: string;
  region: string;
  /** The only credentials it accepts signatures from (random per data dir, kept in {dataDir}/embedded). */
  credentials: EmbeddedCredentials;
  port: number;
  /** Lets pages of these origins (e.g. the API's own, once its port is known) call presigned URLs. */
  allowOrigins(origins: Iterable<string>): void;
  stop(): Promise<void>;
}

/** The variables a service process needs to use this backend: endpoints and credentials. */
export function embeddedEnv(backend: EmbeddedBackend): Record<string, string> {
  return {
    S3_ENDPOINT: backend.s3Endpoint,
    SQS_ENDPOINT: backend.sqsEndpoint,
    AWS_ACCESS_KEY_ID: backend.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: backend.credentials.secretAccessKey,
  };
}

let persistencePatched = false;

/**
 * fauxqs 2.4.1 bug: with SQLite persistence, ChangeMessageVisibility(0) writes NULL into the NOT NULL
 * approximate_receive_count column, so the call fails with a 500 (and the SDK's retry then sees
 * MessageNotInflight). Workers use visibility 0 to hand a job back, so the embedded backend replaces that
 * one statement with one that clears only the in-flight columns (keeping the receive count, as SQS does).
 */
async function patchFauxqsPersistence(): Promise<void> {
  if (persistencePatched) return;
  persistencePatched = true;
  const file = fauxqsFile('dist/persistence.js');
  const mod = (await import(pathToFileURL(file).href)) as {
    PersistenceManager?: { prototype: Record<string, unknown> };
  };
  const proto = mod.PersistenceManager?.prototype;
  if (!proto || typeof proto.updateMessageReady !== 'function') return;
  const ready = new WeakMap<object, { run(id: string): unknown }>();
  proto.updateMessageReady = function updateMessageReady(
    this: { db: { prepare(sql: string): { run(id: string): unknown } } },
    messageId: string,
  ) {
    let stmt = ready.get(this);
    if (!stmt) {
      stmt = this.db.prepare(
        'UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?',
      );
      ready.set(this, stmt);
    }
    stmt.run(messageId);
  };
}

/**
 * Runs fauxqs (S3 + SQS emulator) inside this process with on-disk persistence, so queued tasks, records and
 * images survive a restart. fauxqs listens on a private Unix socket; the one way in is a loopback front
 * (front.ts) that checks every request's SigV4 signature against this backend's own random credentials,
 * refuses path tricks in keys, answers CORS for the API's origins only, and stores uploads bigger than
 * fauxqs's body limit in parts. Limits worth knowing: no conditional writes, no lifecycle rules.
 */
export async function startEmbeddedBackend(options: EmbeddedBackendOptions): Promise<EmbeddedBackend> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new PhotoEnhanceError(
      'INVALID_OPTIONS',
      `Embedded S3/SQS backend: host ${host} refused — it listens on loopback only (127.0.0.1, ::1, localhost)`,
    );
  }
  const root = resolve(options.dataDir, 'embedded');
  const sqsDir = join(root, 'sqs');
  const s3Dir = join(root, 's3');
  await mkdir(sqsDir, { recursive: true });
  await mkdir(s3Dir, { recursive: true });
  const credentials = await loadOrCreateEmbeddedCredentials(root);
  const region = options.region ?? 'us-east-1';
  await patchFauxqsPersistence();
  const port = options.port ?? DEFAULT_EMBEDDED_PORT;
  // A short private directory (mkdtemp: mode 0700) keeps the socket path under the 108-byte limit.
  const socketDir = await mkdtemp(join(tmpdir(), 'pe-fauxqs-'));
  const upstreamSocket = join(socketDir, 's.sock');
  let server: FauxqsServer;
  let front: EmbeddedFront;
  try {
    server = await startFauxqsOnSocket({ socketPath: upstreamSocket, region, sqsDir, s3Dir });
  } catch (cause) {
    await rm(socketDir, { recursive: true, force: true });
    throw new PhotoEnhanceError(
      'INTERNAL',
      `Embedded S3/SQS backend failed to start: ${(cause as Error)?.message ?? cause}`,
      { cause },
    );
  }
  try {
    front = await startEmbeddedFront({
      port,
      host,
      upstreamSocket,
      region,
      credentials,
      ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } catch (cause) {
    await server.stop();
    await rm(socketDir, { recursive: true, force: true });
    const inUse = (cause as NodeJS.ErrnoException)?.code === 'EADDRINUSE';
    throw new PhotoEnhanceError(
      'INTERNAL',
      inUse
        ? `Embedded S3/SQS backend: port ${port} is already in use (set another port or stop the other process)`
        : `Embedded S3/SQS backend failed to start: ${(cause as Error)?.message ?? cause}`,
      { cause },
    );
  }
  // 127.0.0.1 rather than localhost: avoids IPv6-first resolution and virtual-host lookups.
  const endpoint = `http://${host === '::1' ? '[::1]' : host === 'localhost' ? '127.0.0.1' : host}:${front.port}`;
  let sweeper: UploadSweeper | undefined;
  let sweepClient: ReturnType<typeof createS3Client> | undefined;
  if (options.sweepBucket) {
    sweepClient = createS3Client({ endpoint, region, credentials });
    sweeper = startUploadSweeper(createS3Storage({ client: sweepClient, bucket: options.sweepBucket }), {
      ...(options.sweepIntervalMs ? { intervalMs: options.sweepIntervalMs } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }
  let stopped = false;
  return {
    s3Endpoint: endpoint,
    sqsEndpoint: endpoint,
    region,
    credentials,
    port: front.port,
    allowOrigins: (origins) => front.allowOrigins(origins),
    async stop() {
      if (stopped) return;
      stopped = true;
      sweeper?.stop();
      sweepClient?.destroy();
      await front.stop();
      await server.stop();
      await rm(socketDir, { recursive: true, force: true });
    },
  };
}
