/**
 * Streams a model file from a URL to disk, hashing as it goes. The file only appears under its final
 * name after its size and sha256 have been checked; anything else is deleted and reported.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ModelError } from './errors.ts';
import { tempPathFor } from './files.ts';

export interface DownloadOptions {
  /** Expected sha256; null means unverifiable: allowed only with trustUnverified. */
  sha256: string | null;
  bytes?: number | null;
  trustUnverified?: boolean;
  fetch?: typeof globalThis.fetch;
  /** Progress lines (the CLI prints them on stderr). */
  log?: (msg: string) => void;
  signal?: AbortSignal;
  label?: string;
}

export async function downloadVerified(
  url: string,
  dest: string,
  opts: DownloadOptions,
): Promise<{ sha256: string; bytes: number }> {
  const label = opts.label ?? url;
  if (opts.sha256 === null && !opts.trustUnverified) {
    throw new ModelError(
      'MODEL_INVALID',
      `${label}: no verified sha256 is known for ${url}; re-run with --trust-unverified to accept whatever the server sends`,
    );
  }
  const doFetch = opts.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await doFetch(url, { redirect: 'follow', signal: opts.signal });
  } catch (err) {
    throw new ModelError('MODEL_NOT_READY', `${label}: download from ${url} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!response.ok || !response.body) {
    throw new ModelError(
      'MODEL_NOT_READY',
      `${label}: download from ${url} failed: HTTP ${response.status} ${response.statusText}`,
    );
  }
  const announced = Number(response.headers.get('content-length')) || undefined;
  const total = opts.bytes ?? announced;
  const hash = createHash('sha256');
  let received = 0;
  let lastReport = 0;
  const progress = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      received += chunk.length;
      const now = Date.now();
      if (opts.log && now - lastReport >= 1000) {
        lastReport = now;
        opts.log(
          `${label}: ${formatMb(received)}${total ? ` / ${formatMb(total)} (${((received / total) * 100).toFixed(1)} %)` : ''}`,
        );
      }
      done(null, chunk);
    },
  });
  const tmp = tempPathFor(dest);
  try {
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>),
      progress,
      createWriteStream(tmp),
      { signal: opts.signal },
    );
    const sha256 = hash.digest('hex');
    if (opts.bytes && received !== opts.bytes) {
      throw new ModelError(
        'MODEL_INVALID',
        `${label}: received ${received} bytes but the manifest expects ${opts.bytes} (truncated or replaced upstream); the file was discarded`,
      );
    }
    if (announced !== undefined && received !== announced) {
      throw new ModelError(
        'MODEL_INVALID',
        `${label}: received ${received} of ${announced} announced bytes (connection cut?); the file was discarded`,
      );
    }
    if (opts.sha256 !== null && sha256 !== opts.sha256) {
      throw new ModelError(
        'MODEL_INVALID',
        `${label}: sha256 ${sha256} does not match the expected ${opts.sha256} (corrupt or tampered download); the file was discarded`,
      );
    }
    await rename(tmp, dest);
    opts.log?.(
      `${label}: ${formatMb(received)} downloaded, sha256 ${opts.sha256 === null ? `${sha256} (UNVERIFIED, trusted on request)` : 'verified'}`,
    );
    return { sha256, bytes: received };
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof ModelError) throw err;
    throw new ModelError('MODEL_NOT_READY', `${label}: download from ${url} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function formatMb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
