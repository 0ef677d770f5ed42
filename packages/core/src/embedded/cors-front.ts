import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Headers a browser may read from storage answers (S3 sends ETag after a PUT). */
const EXPOSED = 'ETag, x-amz-request-id, x-amz-version-id, Content-Disposition';

export interface CorsFront {
  port: number;
  stop(): Promise<void>;
}

/**
 * A pass-through HTTP front for fauxqs that answers CORS, as a bucket CORS rule does on S3, MinIO or
 * LocalStack: fauxqs serves no CORS headers, so a browser page could not PUT to a presigned upload URL.
 * Any origin is allowed (the embedded backend listens for one machine's development use); every other byte,
 * the Host header included (fauxqs builds queue URLs from it), goes through unchanged.
 */
export async function startCorsFront(options: { port: number; upstreamPort: number }): Promise<CorsFront> {
  const server: Server = createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Expose-Headers', EXPOSED);
    }
    if (req.method === 'OPTIONS' && origin && req.headers['access-control-request-method']) {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, HEAD, PUT, POST, DELETE',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? '*',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: options.upstreamPort, method: req.method, path: req.url, headers: req.headers },
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
    req.pipe(upstream);
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, '0.0.0.0', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
