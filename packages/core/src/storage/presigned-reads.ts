import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { HttpRequest, HttpResponse } from '@smithy/types';

/**
 * The hot path of small JSON reads (task records: one GET per change of every watched task, bench:watch-cpu).
 * A GET through `client.send` costs this process ~1.2 ms of CPU on a 2-core machine, most of it the SDK's
 * middleware stack (endpoint rules, retry, SigV4, deserialisers), while the HTTP exchange itself is ~0.3 ms.
 * So each key's GET is presigned once by the SDK's own presigner (its endpoint rules and signer: nothing
 * hand-rolled) and the URL is replayed for `reuseSeconds` through the client's own request handler (its
 * keep-alive agent and timeouts). Anything but a 200 or a 404 — an expired token (403), a 5xx, a network
 * error — drops the URL and answers `undefined`: the caller then reads through `client.send`, whose retries
 * and error mapping are the one truth for failures. The URLs stay in this process's memory, never logged
 * (they are bearer credentials for one object each).
 */
export interface PresignedReads {
  /** The object's bytes and ETag, `null` when it does not exist, `undefined` when only the SDK path can tell. */
  get(key: string): Promise<{ body: Buffer; etag: string | undefined } | null | undefined>;
}

export interface PresignedReadsOptions {
  client: S3Client;
  bucket: string;
  /** How long a presigned URL is replayed (it is signed for 60 s more, so a slow request still passes). */
  reuseSeconds?: number;
  /** Keys whose URL is kept; the oldest is dropped beyond (one per watched task is what it needs). */
  maxEntries?: number;
}

/** The slice of the SDK's Node request handler used here (client.config.requestHandler is typed loosely). */
interface RequestHandler {
  handle(request: HttpRequest): Promise<{ response: HttpResponse }>;
}

interface Entry {
  request: HttpRequest;
  /** Epoch ms after which the URL is signed again. */
  renewAt: number;
}

const DEFAULT_REUSE_SECONDS = 10 * 60;
const DEFAULT_MAX_ENTRIES = 10_000;
const SIGNED_MARGIN_SECONDS = 60;

export function createPresignedReads(options: PresignedReadsOptions): PresignedReads {
  const { client, bucket } = options;
  const reuseSeconds = options.reuseSeconds ?? DEFAULT_REUSE_SECONDS;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const entries = new Map<string, Entry>();
  const handler = client.config.requestHandler as unknown as RequestHandler;

  async function requestFor(key: string): Promise<HttpRequest> {
    const held = entries.get(key);
    if (held && held.renewAt > Date.now()) return held.request;
    const url = new URL(
      await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
        expiresIn: reuseSeconds + SIGNED_MARGIN_SECONDS,
      }),
    );
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    const request: HttpRequest = {
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      // The presigner's path is already percent-encoded as signed; the handler sends it as given.
      path: url.pathname,
      query,
      headers: { host: url.host },
    };
    entries.delete(key);
    if (entries.size >= maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
    entries.set(key, { request, renewAt: Date.now() + reuseSeconds * 1000 });
    return request;
  }

  return {
    async get(key) {
      try {
        const { response } = await handler.handle(await requestFor(key));
        const chunks: Buffer[] = [];
        // Always drained, so the keep-alive socket goes back to the pool whatever the status.
        for await (const chunk of response.body as AsyncIterable<Buffer>) chunks.push(chunk);
        if (response.statusCode === 200) {
          return {
            body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
            etag: response.headers.etag,
          };
        }
        if (response.statusCode === 404) return null;
      } catch {
        // Network trouble: the SDK path below retries it and reports it the usual way.
      }
      entries.delete(key);
      return undefined;
    },
  };
}
