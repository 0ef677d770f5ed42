import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startFauxqs } from 'fauxqs';
import { DEFAULT_EMBEDDED_PORT } from '../config/common.ts';
import { PhotoEnhanceError } from '../errors/errors.ts';

export interface EmbeddedBackendOptions {
  /** State lives under {dataDir}/embedded: SQLite for SQS, plain files for S3 objects. */
  dataDir: string;
  /** 0 picks a free port (tests). */
  port?: number;
  region?: string;
}

export interface EmbeddedBackend {
  s3Endpoint: string;
  sqsEndpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  port: number;
  stop(): Promise<void>;
}

/**
 * Runs fauxqs (S3 + SQS emulator) inside this process with on-disk persistence, so queued tasks, records and
 * images survive a restart. Limits worth knowing: it does not check presigned signatures or expiry, has no
 * conditional writes, and serves no CORS headers (browsers on another origin need the API to proxy downloads).
 */
export async function startEmbeddedBackend(options: EmbeddedBackendOptions): Promise<EmbeddedBackend> {
  const root = resolve(options.dataDir, 'embedded');
  const sqsDir = join(root, 'sqs');
  const s3Dir = join(root, 's3');
  await mkdir(sqsDir, { recursive: true });
  await mkdir(s3Dir, { recursive: true });
  const region = options.region ?? 'us-east-1';
  let server: Awaited<ReturnType<typeof startFauxqs>>;
  try {
    server = await startFauxqs({
      port: options.port ?? DEFAULT_EMBEDDED_PORT,
      logger: false,
      defaultRegion: region,
      dataDir: sqsDir,
      s3StorageDir: s3Dir,
    });
  } catch (cause) {
    const inUse = (cause as NodeJS.ErrnoException)?.code === 'EADDRINUSE';
    throw new PhotoEnhanceError(
      'INTERNAL',
      inUse
        ? `Embedded S3/SQS backend: port ${options.port ?? DEFAULT_EMBEDDED_PORT} is already in use (set another port or stop the other process)`
        : `Embedded S3/SQS backend failed to start: ${(cause as Error)?.message ?? cause}`,
      { cause },
    );
  }
  // 127.0.0.1 rather than localhost: avoids IPv6-first resolution and virtual-host lookups.
  const endpoint = `http://127.0.0.1:${server.port}`;
  let stopped = false;
  return {
    s3Endpoint: endpoint,
    sqsEndpoint: endpoint,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    port: server.port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
