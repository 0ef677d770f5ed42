import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { createPresignedReads } from './presigned-reads.ts';
import type { ObjectInfo, Storage, Versioned } from './storage.ts';

interface SdkErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function sdkStatus(err: unknown): number | undefined {
  return (err as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

export function isNotFoundError(err: unknown): boolean {
  const e = err as SdkErrorShape | undefined;
  const name = e?.name ?? e?.Code;
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || sdkStatus(err) === 404;
}

/**
 * SDK failure → PhotoEnhanceError: a missing object is NOT_FOUND (permanent); anything else is STORAGE_ERROR,
 * retryable unless S3 said the request itself was wrong (4xx other than throttling/timeouts).
 */
export function toStorageError(err: unknown, action: string, key?: string): PhotoEnhanceError {
  if (err instanceof PhotoEnhanceError) return err;
  const where = key ? ` ${key}` : '';
  if (isNotFoundError(err)) {
    return new PhotoEnhanceError('NOT_FOUND', `Object not found:${where || ' (bucket)'}`, { cause: err });
  }
  const status = sdkStatus(err);
  const errName = (err as SdkErrorShape | undefined)?.name;
  if (status === 412 || errName === 'PreconditionFailed') {
    // A conditional write lost: the object exists (If-None-Match) or changed since it was read (If-Match).
    return new PhotoEnhanceError('CONFLICT', `Storage ${action} refused:${where} exists or changed since read`, {
      cause: err,
    });
  }
  if (status === 409 && errName === 'ConditionalRequestConflict') {
    // S3's answer when another conditional write to the same key was in flight: the same "you lost the race".
    return new PhotoEnhanceError('CONFLICT', `Storage ${action} refused:${where} written concurrently`, { cause: err });
  }
  const clientFault = status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
  const name = (err as SdkErrorShape | undefined)?.name ?? 'Error';
  // HEAD answers have no body, so the SDK can only say "Unknown": the status code is the useful part.
  const hint =
    status === 403
      ? ' (HTTP 403: access denied — check the credentials and the bucket policy)'
      : status === 401
        ? ' (HTTP 401: check the credentials)'
        : status !== undefined && name.startsWith('Unknown')
          ? ` (HTTP ${status})`
          : '';
  return new PhotoEnhanceError('STORAGE_ERROR', `Storage ${action} failed${where}: ${name}${hint}`, {
    cause: err,
    retryable: !clientFault,
  });
}

export interface CreateStorageOptions {
  client: S3Client;
  bucket: string;
  /** Client configured with the endpoint browsers can reach; presigned URLs are signed for its host. */
  presignClient?: S3Client;
  /** Default presign expiry in seconds. */
  presignExpirySeconds?: number;
}

const DEFAULT_PRESIGN_SECONDS = 300;
/** S3's smallest multipart part: the memory one streamed upload holds per part in flight. */
export const UPLOAD_PART_BYTES = 5 * 1024 * 1024;
const DELETE_BATCH = 1000;

/** RFC 6266 attachment header; the name is already ASCII-safe (safeName), quoted and UTF-8 forms both given. */
function attachment(filename: string): string {
  const ascii = filename.replace(/["\\\r\n]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export function createS3Storage(options: CreateStorageOptions): Storage {
  const { client, bucket } = options;
  const presignClient = options.presignClient ?? client;
  const defaultExpiry = options.presignExpirySeconds ?? DEFAULT_PRESIGN_SECONDS;
  const presignedReads = createPresignedReads({ client, bucket });

  async function send<T>(action: string, key: string | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw toStorageError(err, action, key);
    }
  }

  const storage: Storage = {
    bucket,

    async put(key, body, putOptions = {}) {
      if (typeof (body as Readable).pipe === 'function' && putOptions.contentLength === undefined) {
        throw new PhotoEnhanceError('INTERNAL', 'Stream uploads need contentLength');
      }
      // A known length for in-memory bodies too: the SDK warns about (and may buffer) an empty body of unknown length.
      const contentLength =
        putOptions.contentLength ??
        (typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : undefined);
      const out = await send('put', key, () =>
        client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: putOptions.contentType,
            ContentLength: contentLength,
            ContentDisposition: putOptions.contentDisposition,
            Metadata: putOptions.metadata,
            ...(putOptions.ifNoneMatch ? { IfNoneMatch: putOptions.ifNoneMatch } : {}),
            ...(putOptions.ifMatch ? { IfMatch: putOptions.ifMatch } : {}),
          }),
        ),
      );
      return { etag: out.ETag };
    },

    async upload(key, body, uploadOptions = {}) {
      // Parts are the body's own chunks, gathered until UPLOAD_PART_BYTES and sent as they are (a stream of known
      // length, no concatenated copy); the next part is read only once this one is stored, so the client waits
      // on TCP backpressure and one upload holds about one part in memory whatever the file's size.
      const common = { Bucket: bucket, Key: key };
      const done: { PartNumber: number; ETag: string | undefined }[] = [];
      let uploadId: string | undefined;
      let chunks: Buffer[] = [];
      let length = 0;
      const sendPart = async () => {
        if (!uploadId) {
          const created = await client.send(
            new CreateMultipartUploadCommand({ ...common, ContentType: uploadOptions.contentType }),
          );
          if (!created.UploadId)
            throw new PhotoEnhanceError('STORAGE_ERROR', `Storage upload got no upload id: ${key}`);
          uploadId = created.UploadId;
        }
        const PartNumber = done.length + 1;
        const part = await client.send(
          new UploadPartCommand({
            ...common,
            UploadId: uploadId,
            PartNumber,
            Body: Readable.from(chunks),
            ContentLength: length,
          }),
        );
        done.push({ PartNumber, ETag: part.ETag });
        chunks = [];
        length = 0;
      };
      try {
        for await (const chunk of body) {
          let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
          // A body chunk bigger than a part (an in-process request body can arrive as one 20 MB chunk) is split
          // into views, so no part outgrows UPLOAD_PART_BYTES (and the embedded backend's request limit).
          while (buf.length > 0) {
            const piece = buf.subarray(0, UPLOAD_PART_BYTES - length);
            buf = buf.subarray(piece.length);
            chunks.push(piece);
            length += piece.length;
            if (length >= UPLOAD_PART_BYTES) await sendPart();
          }
        }
        if (!uploadId) {
          // Small enough for one part: a plain PutObject.
          await client.send(
            new PutObjectCommand({
              ...common,
              Body: Readable.from(chunks),
              ContentLength: length,
              ContentType: uploadOptions.contentType,
            }),
          );
          return;
        }
        if (length > 0) await sendPart();
        await client.send(
          new CompleteMultipartUploadCommand({ ...common, UploadId: uploadId, MultipartUpload: { Parts: done } }),
        );
      } catch (err) {
        // Nothing may stay: the parts so far are dropped (and a lifecycle rule aborts what a crash leaves).
        if (uploadId) {
          await client.send(new AbortMultipartUploadCommand({ ...common, UploadId: uploadId })).catch(() => undefined);
        }
        // The body's own refusal (a size limit, a refused image, a client gone) is the answer.
        throw toStorageError(err, 'upload', key);
      }
    },

    async getBuffer(key) {
      return send('get', key, async () => {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!out.Body) throw new PhotoEnhanceError('STORAGE_ERROR', `Storage get returned no body: ${key}`);
        return Buffer.from(await out.Body.transformToByteArray());
      });
    },

    async getRange(key, start, endInclusive) {
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endInclusive) || start < 0 || endInclusive < start) {
        throw new PhotoEnhanceError(
          'INTERNAL',
          `Storage getRange needs 0 <= start <= end, got ${start}-${endInclusive}`,
        );
      }
      try {
        return await send('get', key, async () => {
          const out = await client.send(
            new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${endInclusive}` }),
          );
          if (!out.Body) throw new PhotoEnhanceError('STORAGE_ERROR', `Storage get returned no body: ${key}`);
          return Buffer.from(await out.Body.transformToByteArray());
        });
      } catch (err) {
        // 416: the range starts at or past the end of the object (S3's InvalidRange).
        if (err instanceof PhotoEnhanceError && sdkStatus(err.cause) === 416) {
          throw new PhotoEnhanceError('INVALID_INPUT', `Byte ${start} is past the end of ${key}`, { cause: err });
        }
        throw err;
      }
    },

    async getStream(key) {
      return send('get', key, async () => {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!out.Body) throw new PhotoEnhanceError('STORAGE_ERROR', `Storage get returned no body: ${key}`);
        // In Node the SDK body is an IncomingMessage, i.e. a Readable.
        return { body: out.Body as Readable, bytes: out.ContentLength, contentType: out.ContentType };
      });
    },

    async head(key) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return {
          key,
          bytes: out.ContentLength ?? 0,
          contentType: out.ContentType,
          lastModified: out.LastModified,
          etag: out.ETag,
          metadata: out.Metadata,
        };
      } catch (err) {
        if (isNotFoundError(err)) return null;
        throw toStorageError(err, 'head', key);
      }
    },

    async delete(key) {
      await send('delete', key, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    },

    async deletePrefix(prefix) {
      if (!prefix) throw new PhotoEnhanceError('INTERNAL', 'deletePrefix needs a non-empty prefix');
      let deleted = 0;
      // List everything first: deleting while paginating can skip keys on some backends.
      const objects = await storage.list(prefix);
      for (let i = 0; i < objects.length; i += DELETE_BATCH) {
        const batch = objects.slice(i, i + DELETE_BATCH);
        const out = await send('deletePrefix', prefix, () =>
          client.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((o) => ({ Key: o.key })), Quiet: true },
            }),
          ),
        );
        const failed = out.Errors?.filter((e) => e.Code !== 'NoSuchKey') ?? [];
        if (failed.length > 0) {
          throw new PhotoEnhanceError(
            'STORAGE_ERROR',
            `Storage deletePrefix failed for ${failed.length} objects under ${prefix}`,
            {
              details: { keys: failed.slice(0, 10).map((e) => e.Key) },
            },
          );
        }
        deleted += batch.length;
      }
      return deleted;
    },

    async list(prefix, listOptions = {}) {
      const limit = listOptions.limit ?? Number.POSITIVE_INFINITY;
      const found: ObjectInfo[] = [];
      let token: string | undefined;
      do {
        const out = await send('list', prefix, () =>
          client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              ContinuationToken: token,
              MaxKeys: Math.min(1000, limit - found.length),
            }),
          ),
        );
        for (const o of out.Contents ?? []) {
          if (o.Key) found.push({ key: o.Key, bytes: o.Size ?? 0, lastModified: o.LastModified, etag: o.ETag });
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token && found.length < limit);
      return found;
    },

    async presignGet(key, presignOptions = {}) {
      const expiresIn = presignOptions.expiresIn ?? defaultExpiry;
      const url = await send('presignGet', key, () =>
        getSignedUrl(
          presignOptions.internal ? client : presignClient,
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            ...(presignOptions.filename ? { ResponseContentDisposition: attachment(presignOptions.filename) } : {}),
          }),
          { expiresIn },
        ),
      );
      return { url, expiresAt: new Date(Date.now() + expiresIn * 1000) };
    },

    async presignPut(key, presignOptions) {
      const expiresIn = presignOptions.expiresIn ?? defaultExpiry;
      // Content-Type and Content-Length are signed headers, so the upload is bound to exactly that type and size.
      const url = await send('presignPut', key, () =>
        getSignedUrl(
          presignClient,
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            ContentType: presignOptions.contentType,
            ContentLength: presignOptions.contentLength,
          }),
          { expiresIn, signableHeaders: new Set(['content-type', 'content-length']) },
        ),
      );
      return {
        url,
        expiresAt: new Date(Date.now() + expiresIn * 1000),
        headers: { 'content-type': presignOptions.contentType, 'content-length': String(presignOptions.contentLength) },
      };
    },

    async readJson(key, parse) {
      return (await storage.readJsonVersioned(key, parse))?.value ?? null;
    },

    async readJsonVersioned<T>(key: string, parse: (value: unknown) => T): Promise<Versioned<T> | null> {
      let raw: Buffer;
      let etag: string | undefined;
      // The hot path first (a replayed presigned GET, see presigned-reads.ts); the SDK when it cannot tell.
      const fast = await presignedReads.get(key);
      if (fast === null) return null;
      if (fast) ({ body: raw, etag } = fast);
      else
        try {
          ({ raw, etag } = await send('get', key, async () => {
            const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            if (!out.Body) throw new PhotoEnhanceError('STORAGE_ERROR', `Storage get returned no body: ${key}`);
            return { raw: Buffer.from(await out.Body.transformToByteArray()), etag: out.ETag };
          }));
        } catch (err) {
          if (err instanceof PhotoEnhanceError && err.code === 'NOT_FOUND') return null;
          throw err;
        }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch (cause) {
        throw new PhotoEnhanceError('INTERNAL', `Stored object is not JSON: ${key}`, { cause });
      }
      try {
        return { value: parse(json), etag };
      } catch (cause) {
        throw new PhotoEnhanceError('INTERNAL', `Stored object has an unexpected shape: ${key}`, { cause });
      }
    },

    async writeJson(key, value, conditions = {}) {
      return storage.put(key, JSON.stringify(value), { contentType: 'application/json', ...conditions });
    },

    async probeConditionalWrites(probeKey) {
      // Only a store that refuses both wrong preconditions with 412 fences with them; one that ignores the
      // headers (writes anyway) or rejects them some other way (501, 400) gets the read-then-write fallback.
      // No step depends on the ETag staying ours, so processes probing the same key at once agree.
      const body = JSON.stringify({ probe: 'conditional-writes', at: new Date().toISOString() });
      const { etag } = await storage.put(probeKey, body, { contentType: 'application/json' });
      if (!etag) return false;
      const refused = (conditions: { ifMatch?: string; ifNoneMatch?: '*' }) =>
        storage.put(probeKey, body, { contentType: 'application/json', ...conditions }).then(
          () => false,
          (err: unknown) => {
            if (err instanceof PhotoEnhanceError && err.code === 'CONFLICT') return true;
            if (err instanceof PhotoEnhanceError && err.retryable) throw err;
            return false;
          },
        );
      return (
        (await refused({ ifMatch: '"0123456789abcdef0123456789abcdef"' })) && (await refused({ ifNoneMatch: '*' }))
      );
    },

    async ping() {
      await send('ping', undefined, () => client.send(new HeadBucketCommand({ Bucket: bucket })));
    },
  };
  return storage;
}
