import { Agent } from 'node:http';
import { createConnection } from 'node:net';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { EmbeddedCredentials } from './credentials.ts';

/**
 * fauxqs (Fastify) refuses bodies over 11 MiB (FST_ERR_CTP_BODY_TOO_LARGE) and holds each body whole in memory.
 * A PutObject bigger than this is therefore stored by the front as a multipart upload of parts this size —
 * what the SDK's own uploads do — so every size up to DIRECT_UPLOAD_MAX_BYTES arrives, with bounded memory.
 */
export const BIG_PUT_PART_BYTES = 8 * 1024 * 1024;

/** An http.Agent whose sockets go to fauxqs's private Unix socket, for the SDK client below. */
class UnixSocketAgent extends Agent {
  private readonly socketPath: string;
  constructor(socketPath: string) {
    super({ keepAlive: true });
    this.socketPath = socketPath;
  }
  override createConnection(): ReturnType<typeof createConnection> {
    return createConnection(this.socketPath);
  }
}

export interface BigPutTarget {
  bucket: string;
  key: string;
  contentType: string | undefined;
  contentDisposition: string | undefined;
  cacheControl: string | undefined;
  metadata: Record<string, string>;
}

/** The SDK client the front stores big PUTs through, straight to fauxqs's socket. */
export function createUpstreamS3(socketPath: string, region: string, credentials: EmbeddedCredentials) {
  return new S3Client({
    region,
    endpoint: 'http://127.0.0.1',
    forcePathStyle: true,
    credentials,
    requestHandler: { httpAgent: new UnixSocketAgent(socketPath) },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

/**
 * Streams `body` (exactly `length` bytes) into `target` as a multipart upload; one part in memory at a time,
 * the sender held by TCP backpressure meanwhile. Anything short, long or failed aborts the upload, so no
 * half-written object is ever visible. Returns the ETag of the stored object.
 */
export async function putInParts(
  client: S3Client,
  target: BigPutTarget,
  body: AsyncIterable<Buffer>,
  length: number,
): Promise<string> {
  const created = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: target.bucket,
      Key: target.key,
      ...(target.contentType ? { ContentType: target.contentType } : {}),
      ...(target.contentDisposition ? { ContentDisposition: target.contentDisposition } : {}),
      ...(target.cacheControl ? { CacheControl: target.cacheControl } : {}),
      Metadata: target.metadata,
    }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error('fauxqs returned no upload id');
  const parts: { PartNumber: number; ETag: string }[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let received = 0;
  const flush = async () => {
    const partNumber = parts.length + 1;
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const out = await client.send(
      new UploadPartCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: chunk,
      }),
    );
    parts.push({ PartNumber: partNumber, ETag: out.ETag ?? '' });
  };
  try {
    for await (const data of body) {
      received += data.length;
      if (received > length) throw new BodyLengthError('more bytes than Content-Length');
      pending.push(data);
      pendingBytes += data.length;
      if (pendingBytes >= BIG_PUT_PART_BYTES) await flush();
    }
    if (received !== length) throw new BodyLengthError('the body ended before Content-Length bytes');
    if (pendingBytes > 0 || parts.length === 0) await flush();
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    return done.ETag ?? '';
  } catch (err) {
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }))
      .catch(() => undefined);
    throw err;
  }
}

export class BodyLengthError extends Error {}
