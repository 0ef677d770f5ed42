import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { startFauxqs } from 'fauxqs';
import type { Logger } from 'pino';
import { DEFAULT_EMBEDDED_PORT } from '../config/common.ts';
import { createS3Client } from '../storage/s3-client.ts';
import { createS3Storage } from '../storage/s3-storage.ts';
import { type CorsFront, startCorsFront } from './cors-front.ts';
import { startUploadSweeper, type UploadSweeper } from './upload-sweeper.ts';

export interface EmbeddedBackendOptions {
  /** State lives under {dataDir}/embedded: SQLite for SQS, plain files for S3 objects. */
  dataDir: string;
  /** 0 picks a free port (tests). */
  port?: number;
  region?: string;
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
  credentials: { accessKeyId: string; secretAccessKey: string };
  port: number;
  stop(): Promise<void>;
}

/** Finds a file of the installed fauxqs package (its exports map hides everything but the entry point). */
function fauxqsFile(relative: string): string | undefined {
  let dir = import.meta.dirname;
  for (;;) {
    const candidate = join(dir, 'node_modules', 'fauxqs', relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
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
  if (!file) return;
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
 * images survive a restart. Limits worth knowing: it does not check presigned signatures or expiry and has no
 * conditional writes. fauxqs itself serves no CORS headers, so it listens on a private port behind a small
 * front (cors-front.ts) that answers them: a browser page can PUT to a presigned upload URL.
 */
export async function startEmbeddedBackend(options: EmbeddedBackendOptions): Promise<EmbeddedBackend> {
  const root = resolve(options.dataDir, 'embedded');
  const sqsDir = join(root, 'sqs');
  const s3Dir = join(root, 's3');
  await mkdir(sqsDir, { recursive: true });
  await mkdir(s3Dir, { recursive: true });
  const region = options.region ?? 'us-east-1';
  await patchFauxqsPersistence();
  const port = options.port ?? DEFAULT_EMBEDDED_PORT;
  let server: Awaited<ReturnType<typeof startFauxqs>>;
  let front: CorsFront;
  try {
    server = await startFauxqs({ port: 0, logger: false, defaultRegion: region, dataDir: sqsDir, s3StorageDir: s3Dir });
  } catch (cause) {
    throw new PhotoEnhanceError(
      'INTERNAL',
      `Embedded S3/SQS backend failed to start: ${(cause as Error)?.message ?? cause}`,
      { cause },
    );
  }
  try {
    front = await startCorsFront({ port, upstreamPort: server.port });
  } catch (cause) {
    await server.stop();
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
  const endpoint = `http://127.0.0.1:${front.port}`;
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
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
    async stop() {
      if (stopped) return;
      stopped = true;
      sweeper?.stop();
      sweepClient?.destroy();
      await front.stop();
      await server.stop();
    },
  };
}
