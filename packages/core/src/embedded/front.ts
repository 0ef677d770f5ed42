import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { BIG_PUT_PART_BYTES, BodyLengthError, createUpstreamS3, putInParts } from './big-put.ts';
import type { EmbeddedCredentials } from './credentials.ts';
import { addressedKeys, unsafeKeyReason } from './key-policy.ts';
import { createSigV4Verifier } from './sigv4-verifier.ts';

/** Headers a browser may read from storage answers (S3 sends ETag after a PUT). */
const EXPOSED = 'ETag, x-amz-request-id, x-amz-version-id, Content-Disposition';
/** SQS bodies are buffered to hash them for the signature check; SQS itself caps a message at 1 MiB. */
const MAX_SIGNED_BODY_BYTES = 4 * 1024 * 1024;

export interface EmbeddedFront {
  port: number;
  /** Origins (scheme://host:port) whose pages may call storage (presigned PUT/GET): the API's own. */
  allowOrigins(origins: Iterable<string>): void;
  stop(): Promise<void>;
}

export interface FrontOptions {
  port: number;
  /** Always a loopback address: the embedded backend is for one machine. */
  host: string;
  upstreamSocket: string;
  region: string;
  credentials: EmbeddedCredentials;
  corsOrigins?: Iterable<string>;
  logger?: Logger;
}

function isSqs(req: IncomingMessage): boolean {
  const type = req.headers['content-type'] ?? '';
  return type.includes('x-amz-json-1.0') || type.includes('x-www-form-urlencoded');
}

/** An S3-shaped (XML) or SQS-shaped (JSON) refusal, so SDK clients surface the code. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (isSqs(req)) {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${code};Sender` });
    res.end(JSON.stringify({ __type: code, message }));
  } else {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
  }
  req.resume();
}

async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * The embedded backend's only door: fauxqs listens on a private Unix socket, and this loopback HTTP server in
 * front of it
 * - refuses every request without a valid AWS SigV4 signature (header or presigned query) made with the
 *   backend's own credentials (sigv4-verifier.ts) — fauxqs checks none;
 * - refuses object keys with path tricks (key-policy.ts);
 * - answers CORS only for the allowed origins (the API's page), as a bucket CORS rule would;
 * - stores a PutObject larger than fauxqs's 11 MiB body limit as a multipart upload (big-put.ts).
 * Everything else, the Host header included (fauxqs builds queue URLs from it), goes through unchanged.
 */
export async function startEmbeddedFront(options: FrontOptions): Promise<EmbeddedFront> {
  const verify = createSigV4Verifier(options.credentials);
  const allowed = new Set<string>(options.corsOrigins ?? []);
  const upstreamS3 = createUpstreamS3(options.upstreamSocket, options.region, options.credentials);

  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => {
    const upstream = request(
      { socketPath: options.upstreamSocket, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`embedded backend unreachable: ${err.message}`);
    });
    // A client that goes away (an aborted long poll) ends the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    const corsAllowed = origin !== undefined && allowed.has(origin);
    if (corsAllowed) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', EXPOSED);
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS' && origin && req.headers['access-control-request-method']) {
      if (!corsAllowed) {
        refuse(req, res, 403, 'AccessDenied', 'CORS is not allowed for this origin');
        return;
      }
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, HEAD, PUT',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? 'content-type',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }

    // SQS bodies are small: buffer them so their hash is checked too (the signature covers the declared hash,
    // this binds the bytes to it). S3 bodies stream through unhashed (see SECURITY.md).
    let body: Buffer | undefined;
    let bodySha256: string | undefined;
    if (isSqs(req)) {
      body = await readLimited(req, MAX_SIGNED_BODY_BYTES);
      if (!body) {
        refuse(req, res, 413, 'RequestEntityTooLarge', 'Request body too large');
        return;
      }
      bodySha256 = createHash('sha256').update(body).digest('hex');
    }
    const verdict = await verify({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      ...(bodySha256 ? { bodySha256 } : {}),
    });
    if (!verdict.ok) {
      options.logger?.warn({ method: req.method, code: verdict.code }, 'embedded backend refused a request');
      refuse(req, res, 403, verdict.code, verdict.message);
      return;
    }
    const declared = req.headers['x-amz-content-sha256'];
    if (bodySha256 && typeof declared === 'string' && /^[0-9a-f]{64}$/.test(declared) && declared !== bodySha256) {
      refuse(req, res, 400, 'XAmzContentSHA256Mismatch', 'The body does not match its signed hash');
      return;
    }

    if (verdict.service === 's3') {
      const { bucket, keys, malformed } = addressedKeys(req.url ?? '/');
      const reason = malformed ? 'a malformed percent-encoding' : keys.map(unsafeKeyReason).find(Boolean);
      if (reason) {
        refuse(req, res, 400, 'InvalidObjectName', `Object key refused: it has ${reason}`);
        return;
      }
      const length = Number(req.headers['content-length']);
      const query = (req.url ?? '').split('?')[1] ?? '';
      const plainPut =
        req.method === 'PUT' &&
        bucket !== undefined &&
        keys[0] &&
        !/(^|&)(uploadId|partNumber)=/.test(query) &&
        !req.headers['x-amz-copy-source'] &&
        !String(req.headers['content-encoding'] ?? '').includes('aws-chunked');
      if (plainPut && Number.isFinite(length) && length > BIG_PUT_PART_BYTES) {
        const metadata: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice(11)] = value;
        }
        try {
          const etag = await putInParts(
            upstreamS3,
            {
              bucket,
              key: keys[0] as string,
              contentType: req.headers['content-type'],
              contentDisposition: req.headers['content-disposition'],
              cacheControl: req.headers['cache-control'],
              metadata,
            },
            req as AsyncIterable<Buffer>,
            length,
          );
          res.writeHead(200, { ETag: etag, 'Content-Length': '0' });
          res.end();
        } catch (err) {
          if (err instanceof BodyLengthError) refuse(req, res, 400, 'IncompleteBody', err.message);
          else {
            options.logger?.error({ err }, 'embedded backend: storing a large upload failed');
            refuse(req, res, 500, 'InternalError', 'Storing the upload failed');
          }
        }
        return;
      }
    }
    forward(req, res, body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.logger?.error({ err }, 'embedded backend front failed');
      refuse(req, res, 500, 'InternalError', 'Internal error');
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    allowOrigins(origins) {
      for (const origin of origins) allowed.add(origin);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      upstreamS3.destroy();
    },
  };
}
