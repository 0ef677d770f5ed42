/** A client of the running API holding one API key (or none), for the security suite. */
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import { FAST_FORM } from '../harness/engine.ts';

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary response JSON
  body: any;
}

export interface TenantClient {
  key: string | undefined;
  request(
    method: string,
    path: string,
    init?: { body?: NonNullable<RequestInit['body']>; json?: unknown; query?: string },
  ): Promise<Answer>;
  enhance(image: Buffer, fields?: Record<string, string>): Promise<Answer>;
  batch(images: Buffer[]): Promise<Answer>;
}

export function tenantClient(apiUrl: string, key: string | undefined): TenantClient {
  const client: TenantClient = {
    key,
    async request(method, path, init = {}) {
      const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
      let body = init.body;
      if (init.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(init.json);
      }
      const res = await fetch(`${apiUrl}${path}${init.query ?? ''}`, { method, headers, body, redirect: 'manual' });
      const type = res.headers.get('content-type') ?? '';
      const parsed = type.includes('application/json') ? await res.json() : await res.text();
      return { status: res.status, headers: res.headers, body: parsed };
    },
    enhance(image, fields = FAST_FORM) {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'face.png');
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      return client.request('POST', '/api/v1/enhance', { body: form });
    },
    batch(images) {
      const form = new FormData();
      images.forEach((image, i) => {
        form.append('files', new Blob([new Uint8Array(image)], { type: 'image/png' }), `face-${i}.png`);
      });
      for (const [name, value] of Object.entries(FAST_FORM)) form.append(name, value);
      return client.request('POST', '/api/v1/enhance/batch', { body: form });
    },
  };
  return client;
}

/** A pino logger at debug level whose every line is kept, so a test can check what the API wrote. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}
