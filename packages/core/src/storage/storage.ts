import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  bytes: number;
  contentType?: string | undefined;
  lastModified?: Date | undefined;
  etag?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

export interface PutOptions {
  contentType?: string;
  /** Required for stream bodies (S3 needs the length up front). */
  contentLength?: number;
  metadata?: Record<string, string>;
  contentDisposition?: string;
  /**
   * Create only: the write fails with CONFLICT when the key exists (S3 and MinIO conditional writes). Stores
   * without conditional writes ignore it, so callers that need "first writer wins" also check with head().
   */
  ifNoneMatch?: '*';
  /**
   * Replace only this version: the write fails with CONFLICT when the object's ETag is no longer this one (or
   * the object is gone). Stores without conditional writes ignore it: ask probeConditionalWrites() first.
   */
  ifMatch?: string;
}

/** What a write stored: the new version's ETag (undefined when the store does not say). */
export interface PutResult {
  etag: string | undefined;
}

/** A JSON object as read, with the version (ETag) a conditional write can name. */
export interface Versioned<T> {
  value: T;
  etag: string | undefined;
}

export type ConditionalWrite = Pick<PutOptions, 'ifMatch' | 'ifNoneMatch'>;

export interface UploadOptions {
  contentType?: string;
}

export interface PresignedUrl {
  url: string;
  expiresAt: Date;
}

export interface PresignedPut extends PresignedUrl {
  /** Headers the uploader must send exactly (they are part of the signature). */
  headers: Record<string, string>;
}

export interface ObjectStream {
  body: Readable;
  bytes: number | undefined;
  contentType: string | undefined;
}

/**
 * A plain object store (one bucket): what the services need, not how a backend does it. Each backend is one file
 * implementing it with its own error mapping into PhotoEnhanceError (s3-storage.ts: AWS S3, MinIO, fauxqs), so a
 * second backend is one new file. Records of each kind are read and written through src/records/.
 */
export interface Storage {
  readonly bucket: string;
  put(key: string, body: Buffer | Uint8Array | string | Readable, options?: PutOptions): Promise<PutResult>;
  /**
   * Writes a stream of unknown length: a multipart upload part by part (one PutObject when it is small), holding
   * about one part (UPLOAD_PART_BYTES) in memory. When `body` fails, the upload is aborted and the body's own
   * error is thrown: nothing is left under `key`.
   */
  upload(key: string, body: Readable, options?: UploadOptions): Promise<void>;
  getBuffer(key: string): Promise<Buffer>;
  /**
   * Bytes start..endInclusive of an object (an HTTP Range GET), clipped at its end: what a check that needs a
   * few structures of a big file (a TIFF's directories) reads instead of the whole object. A start at or past
   * the end is INVALID_INPUT.
   */
  getRange(key: string, start: number, endInclusive: number): Promise<Buffer>;
  getStream(key: string): Promise<ObjectStream>;
  /** null when the object does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  delete(key: string): Promise<void>;
  /** Deletes every object under the prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  list(prefix: string, options?: { limit?: number }): Promise<ObjectInfo[]>;
  /**
   * `internal`: signed for S3_ENDPOINT (what this process reaches: ffprobe/ffmpeg reading an object by URL)
   * rather than S3_PUBLIC_ENDPOINT (what browsers reach).
   */
  presignGet(
    key: string,
    options?: { expiresIn?: number; filename?: string; internal?: boolean },
  ): Promise<PresignedUrl>;
  presignPut(
    key: string,
    options: { contentType: string; contentLength: number; expiresIn?: number },
  ): Promise<PresignedPut>;
  readJson<T>(key: string, parse: (value: unknown) => T): Promise<T | null>;
  /** readJson plus the ETag of the version read (one GET). */
  readJsonVersioned<T>(key: string, parse: (value: unknown) => T): Promise<Versioned<T> | null>;
  writeJson(key: string, value: unknown, options?: ConditionalWrite): Promise<PutResult>;
  /**
   * Whether this store really enforces ifMatch / ifNoneMatch on writes (AWS S3 and MinIO do; fauxqs 2.4 ignores
   * them). Asked once at start by the processes that fence with them; writes one small object (probeKey).
   */
  probeConditionalWrites(probeKey: string): Promise<boolean>;
  /** Throws STORAGE_ERROR when the bucket cannot be reached. */
  ping(): Promise<void>;
}
