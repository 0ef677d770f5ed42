/**
 * A loopback HTTP relay: each request piped as it is to the target `pickTarget` names for it, the answer piped
 * back. The fleet benches put it in front of servers to count what passes (cost/counting-proxy.ts) or to spread
 * requests over API instances (multi-api's round-robin). Hand-written on node:http because the callers must see
 * every request to count or route it, which a ready-made proxy would hide.
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Relay {
  url: string;
  close(): Promise<void>;
}

export async function startRelay(pickTarget: (req: IncomingMessage) => URL): Promise<Relay> {
  const server: Server = createServer((req, res) => {
    const to = pickTarget(req);
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('error', () => upstream.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
