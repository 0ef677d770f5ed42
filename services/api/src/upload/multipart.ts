import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { isPhotoEnhanceError, PhotoEnhanceError } from '@photoenhance/contracts';
import busboy from 'busboy';
import type { Context } from 'hono';
import type { AppEnv } from '../http/env.ts';
import { unreadableBody } from '../http/request.ts';

/** Text fields are options and URLs: anything longer is not one of ours. */
const MAX_FIELD_BYTES = 64 * 1024;
const MAX_PARTS = 1000;

export interface FilePart {
  /** Position among the accepted file parts, from 0. */
  index: number;
  field: string;
  filename: string;
  stream: Readable;
}

export interface SettledPart<T> {
  index: number;
  filename: string;
  result: PromiseSettledResult<T>;
}

export interface MultipartForm<T> {
  fields: Record<string, string>;
  /** Every file part handed to onFile, in order, once its handler has settled. */
  files: SettledPart<T>[];
  /** Why the body as a whole was refused (size, malformed multipart, too many files, client gone). */
  error?: PhotoEnhanceError;
}

export interface MultipartOptions<T> {
  /** Field names that carry files; file parts under other names are discarded. */
  fileFields: ReadonlySet<string>;
  /** File parts handed to onFile; later ones are refused with tooManyFiles, or discarded when it is absent. */
  maxFiles: number;
  tooManyFiles?: (atLeast: number) => PhotoEnhanceError;
  /** The whole body's limit, counted as it arrives (a Content-Length over it is refused before this). */
  maxBodyBytes: number;
  tooLarge: () => PhotoEnhanceError;
  /**
   * Consumes one file part (to storage). It must read the stream to its end, or drain it after a failure:
   * the parser waits for each part before the next. A FILE_TOO_LARGE refusal with `fatal` ends the body.
   */
  onFile: (part: FilePart) => Promise<T>;
  /** Errors of onFile that refuse the whole body instead of one file. */
  fatal?: (err: unknown) => boolean;
}

/** The Node request under @hono/node-server (read directly), or the fetch body as a Node stream (app.request in tests). */
function requestBody(c: Context<AppEnv>): Readable | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (incoming instanceof Readable && !(incoming as IncomingMessage).readableDidRead) return incoming;
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as WebReadableStream<Uint8Array>) : undefined;
}

/**
 * Parses multipart/form-data as it streams in (busboy), handing each file part to onFile while it arrives:
 * the body is never buffered. Resolves once every part handler has settled, so whatever the handlers stored
 * for a refused body can be removed before the client is answered.
 */
export function readMultipart<T>(c: Context<AppEnv>, options: MultipartOptions<T>): Promise<MultipartForm<T>> {
  const contentType = c.req.header('content-type') ?? '';
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      limits: { fieldSize: MAX_FIELD_BYTES, parts: MAX_PARTS },
    });
  } catch (cause) {
    // No boundary, or not multipart at all.
    return Promise.reject(unreadableBody(cause));
  }
  const source = requestBody(c) ?? Readable.from([]);
  const fields: Record<string, string> = {};
  const pending: { index: number; filename: string; done: Promise<PromiseSettledResult<T>> }[] = [];

  return new Promise((resolve) => {
    let error: PhotoEnhanceError | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      source.off('data', count);
      void Promise.all(pending.map(async (p) => ({ index: p.index, filename: p.filename, result: await p.done }))).then(
        (files) => resolve(error ? { fields, files, error } : { fields, files }),
      );
    };
    const fail = (err: PhotoEnhanceError) => {
      if (error) return;
      error = err;
      // Stop reading: the active file part fails with `err`, and @hono/node-server drains what the client still sends.
      source.unpipe(parser);
      parser.destroy(err);
      finish();
    };

    let received = 0;
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > options.maxBodyBytes) fail(options.tooLarge());
    };
    source.on('data', count);
    source.on('error', (cause) => fail(clientGone(cause)));
    source.once('close', () => {
      if (!source.readableEnded) fail(clientGone());
    });

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        fail(new PhotoEnhanceError('INVALID_INPUT', `The field "${name}" is longer than ${MAX_FIELD_BYTES} bytes`));
        return;
      }
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (error || !options.fileFields.has(name)) {
        discard(stream);
        return;
      }
      const index = pending.length;
      if (index >= options.maxFiles) {
        discard(stream);
        if (options.tooManyFiles) fail(options.tooManyFiles(index + 1));
        return;
      }
      const done = options.onFile({ index, field: name, filename: info.filename ?? '', stream });
      done.catch((err: unknown) => {
        if (options.fatal?.(err)) fail(isPhotoEnhanceError(err) ? err : unreadableBody(err));
      });
      pending.push({
        index,
        filename: info.filename ?? '',
        done: done.then(
          (value) => ({ status: 'fulfilled', value }),
          (reason: unknown) => ({ status: 'rejected', reason }),
        ),
      });
    });
    parser.on('partsLimit', () => fail(new PhotoEnhanceError('INVALID_INPUT', `More than ${MAX_PARTS} form parts`)));
    parser.on('error', (cause) => fail(unreadableBody(cause)));
    parser.once('close', finish);
    source.pipe(parser);
  });
}

function clientGone(cause?: unknown): PhotoEnhanceError {
  return new PhotoEnhanceError('INVALID_INPUT', 'The request body was cut off before it ended', { cause });
}

/** Reads a part nobody wants to its end; it may still fail with the body (that is already reported). */
function discard(stream: Readable): void {
  stream.on('error', () => undefined);
  stream.resume();
}
