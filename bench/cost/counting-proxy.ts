/**
 * A counting HTTP proxy in front of an S3 or SQS endpoint: every request is forwarded unchanged (Host header
 * included, so SigV4 signatures made for the proxy's address still verify) and counted by its billing class.
 * Hand-written on node:http because what matters here is the classification (S3 tier, SQS action), which no
 * proxy library does; forwarding is a plain pipe.
 */
import { startRelay } from '../system/http-relay.ts';

export type S3Class = 'put' | 'get' | 'list' | 'delete';

export interface Counts {
  /** S3 by price tier: put = PUT/COPY/POST, get = GET/HEAD, list = ListObjects, delete (free). */
  s3: Record<S3Class, number>;
  /** SQS by action (X-Amz-Target, or Action= for the query protocol). */
  sqs: Record<string, number>;
}

export interface CountingProxy {
  url: string;
  counts: Counts;
  reset(): Counts;
  close(): Promise<void>;
}

export const emptyCounts = (): Counts => ({ s3: { put: 0, get: 0, list: 0, delete: 0 }, sqs: {} });

function s3Class(method: string, url: string): S3Class {
  const parsed = new URL(url, 'http://x');
  const path = parsed.pathname.split('/').filter(Boolean);
  if (method === 'DELETE') return 'delete';
  if (method === 'GET' && (path.length <= 1 || parsed.searchParams.has('list-type'))) return 'list';
  if (method === 'GET' || method === 'HEAD') return 'get';
  if (method === 'POST' && parsed.searchParams.has('delete')) return 'delete';
  return 'put';
}

export async function startCountingProxy(target: string, kind: 's3' | 'sqs'): Promise<CountingProxy> {
  const to = new URL(target);
  let counts = emptyCounts();
  const relay = await startRelay((req) => {
    if (kind === 's3') counts.s3[s3Class(req.method ?? 'GET', req.url ?? '/')]++;
    else {
      const action =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() || 'query';
      counts.sqs[action] = (counts.sqs[action] ?? 0) + 1;
    }
    return to;
  });
  return {
    url: relay.url,
    get counts() {
      return counts;
    },
    reset() {
      const before = counts;
      counts = emptyCounts();
      return before;
    },
    close: () => relay.close(),
  };
}

export function totalSqs(c: Counts): number {
  return Object.values(c.sqs).reduce((a, b) => a + b, 0);
}

export function totalS3(c: Counts): number {
  return c.s3.put + c.s3.get + c.s3.list + c.s3.delete;
}
