import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkCallbackUrl,
  classifyAddress,
  isAllowedCallbackAddress,
  PhotoEnhanceError,
} from '@photoenhance/contracts';
import { signatureHeaders } from '../signing/hmac.ts';
import { DELIVERY_HEADER, EVENT_HEADER } from './payload.ts';

export interface CallbackLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Resolves a host name to every address it has (the sender checks all of them). */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

const systemResolve: ResolveHost = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

export interface CallbackSenderOptions {
  /** CALLBACK_SECRET: signs every delivery (x-photoenhance-signature); unsigned when absent. */
  secret?: string | undefined;
  /** CALLBACK_ALLOW_PRIVATE: loopback and private ranges become reachable (local receivers, tests). */
  allowPrivate: boolean;
  timeoutMs?: number;
  maxAttempts?: number;
  /** First retry delay; doubled per attempt up to maxBackoffMs, with ±20 % jitter. */
  backoffMs?: number;
  maxBackoffMs?: number;
  logger?: CallbackLogger;
  resolve?: ResolveHost;
  /** Observes each finished delivery (metrics). */
  onResult?: (result: DeliveryResult) => void;
}

export interface DeliveryResult {
  delivered: boolean;
  attempts: number;
  /** Last HTTP status, when a response came back. */
  status?: number;
  /** Why the last attempt failed. */
  error?: string;
  /** true when the target was refused by the address policy (no connection was made). */
  refused?: boolean;
}

export interface CallbackPayloadLike {
  event: string;
  delivery_id: string;
}

export interface CallbackSender {
  /** Delivers with retries and resolves with the outcome; never throws. */
  deliver(url: string, payload: CallbackPayloadLike): Promise<DeliveryResult>;
  /** Fire-and-forget deliver(), tracked so drain() can wait for it. */
  send(url: string, payload: CallbackPayloadLike): void;
  /** Waits up to timeoutMs for deliveries in flight, then abandons their remaining retries. */
  drain(timeoutMs: number): Promise<void>;
}

class AttemptError extends Error {
  readonly retryable: boolean;
  readonly refused: boolean;
  readonly status: number | undefined;
  constructor(message: string, options: { retryable: boolean; refused?: boolean; status?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
    this.refused = options.refused ?? false;
    this.status = options.status;
  }
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs signed JSON to client callback URLs. SSRF guard: IP literals are classified before connecting, and host
 * names are resolved through a lookup hook that checks every address and hands the socket only checked ones —
 * so DNS cannot point a name at the metadata service between check and connect. Redirects are not followed.
 */
export function createCallbackSender(options: CallbackSenderOptions): CallbackSender {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxAttempts = options.maxAttempts ?? 6;
  const backoffMs = options.backoffMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 60_000;
  const resolveHost = options.resolve ?? systemResolve;
  const { logger } = options;
  const stop = new AbortController();
  const inFlight = new Set<Promise<DeliveryResult>>();

  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolveHost(hostname).then(
      (addresses) => {
        const bad = addresses.find((a) => !isAllowedCallbackAddress(classifyAddress(a.address), options.allowPrivate));
        if (bad || addresses.length === 0) {
          const err = new AttemptError(
            bad ? `${hostname} resolves to a ${classifyAddress(bad.address)} address` : `${hostname} has no addresses`,
            { retryable: !bad, refused: Boolean(bad) },
          );
          callback(err as NodeJS.ErrnoException, '', 0);
          return;
        }
        if (lookupOptions.all) callback(null, addresses);
        else callback(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };

  function attempt(url: URL, body: string, payload: CallbackPayloadLike): Promise<number> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'PhotoEnhance-Webhook/1',
      [EVENT_HEADER]: payload.event,
      [DELIVERY_HEADER]: payload.delivery_id,
      ...(options.secret ? signatureHeaders(options.secret, body) : {}),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, {
        method: 'POST',
        headers,
        lookup: guardedLookup,
        timeout: timeoutMs,
        signal: stop.signal,
        // A fresh socket per delivery: pooled sockets would outlive the address check they were made with.
        agent: false,
      });
      req.on('timeout', () => req.destroy(new AttemptError(`no answer within ${timeoutMs} ms`, { retryable: true })));
      req.on('error', (err) => {
        if (err instanceof AttemptError) reject(err);
        else reject(new AttemptError(err.message, { retryable: !stop.signal.aborted, cause: err }));
      });
      req.on('response', (res: IncomingMessage) => {
        let seen = 0;
        // Read (and drop) the body so the socket closes cleanly; a huge answer is cut off.
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on('close', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      });
      req.end(body);
    });
  }

  async function deliver(rawUrl: string, payload: CallbackPayloadLike): Promise<DeliveryResult> {
    let url: URL;
    try {
      url = checkCallbackUrl(rawUrl, { allowPrivate: options.allowPrivate });
    } catch (err) {
      const result = { delivered: false, attempts: 0, refused: true, error: (err as Error).message };
      logger?.warn({ deliveryId: payload.delivery_id, reason: result.error }, 'callback refused');
      options.onResult?.(result);
      return result;
    }
    const body = JSON.stringify(payload);
    const log = { deliveryId: payload.delivery_id, event: payload.event, host: url.host };
    let result: DeliveryResult = { delivered: false, attempts: 0 };
    for (let n = 1; n <= maxAttempts && !stop.signal.aborted; n++) {
      let retryable: boolean;
      try {
        const status = await attempt(url, body, payload);
        if (status >= 200 && status < 300) {
          result = { delivered: true, attempts: n, status };
          break;
        }
        retryable = status >= 500 || status === 408 || status === 429;
        result = { delivered: false, attempts: n, status, error: `HTTP ${status}` };
      } catch (err) {
        const e = err instanceof AttemptError ? err : new AttemptError(String(err), { retryable: true });
        retryable = e.retryable;
        result = { delivered: false, attempts: n, error: e.message, ...(e.refused ? { refused: true } : {}) };
      }
      if (!retryable || n === maxAttempts) break;
      const delay = Math.min(maxBackoffMs, backoffMs * 2 ** (n - 1)) * (0.8 + Math.random() * 0.4);
      logger?.info(
        { ...log, attempt: n, retryInMs: Math.round(delay), error: result.error },
        'callback failed; retrying',
      );
      await sleep(delay, undefined, { signal: stop.signal }).catch(() => undefined);
    }
    if (result.delivered) logger?.info({ ...log, attempts: result.attempts }, 'callback delivered');
    else logger?.warn({ ...log, ...result }, 'callback not delivered');
    options.onResult?.(result);
    return result;
  }

  return {
    deliver,
    send(url, payload) {
      const p = deliver(url, payload);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    },
    async drain(drainTimeoutMs) {
      if (inFlight.size > 0) {
        const timer = new AbortController();
        await Promise.race([
          Promise.allSettled([...inFlight]),
          sleep(drainTimeoutMs, undefined, { signal: timer.signal }).catch(() => undefined),
        ]);
        timer.abort();
      }
      stop.abort(new PhotoEnhanceError('CANCELLED', 'callback sender stopped'));
      await Promise.allSettled([...inFlight]);
    },
  };
}
