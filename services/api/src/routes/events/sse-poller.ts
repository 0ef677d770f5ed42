import { isPhotoEnhanceError } from '@photoenhance/contracts';
import type { SSEStreamingApi } from 'hono/streaming';
import type { Logger } from 'pino';
import { publicBody } from '../../http/errors.ts';

/** One observation of the watched state, already turned into the event it would send. */
export interface Snapshot {
  /** Grows with every change of the state (from its last update time, snapshots.ts eventId): the SSE event id. */
  id: number;
  event: string;
  data: unknown;
  /** Ends the stream once sent. */
  terminal: boolean;
  /** What a client would notice; an update that leaves it unchanged sends nothing. */
  fingerprint: string;
}

export interface PollOptions {
  read: () => Promise<Snapshot>;
  pollMs: number;
  keepAliveMs: number;
  /** Last-Event-ID of a reconnecting client: only newer states are sent. */
  lastEventId?: number | undefined;
  /** Client reconnect delay suggested with the first event. */
  retryMs?: number;
  /** Ends the stream after this long (the client reconnects with Last-Event-ID and loses nothing). */
  maxDurationMs?: number;
  logger: Logger;
  /** The first snapshot, when the route already read it. */
  first?: Snapshot;
  /**
   * Waits before the next read: by default `pollMs`; a route fed by the task watch hub waits for the next
   * change instead (bounded by the given ms, so keep-alives and the duration cap still happen).
   */
  wait?: (ms: number) => Promise<void>;
}

/** The Last-Event-ID header as a number; anything unusable counts as absent. */
export function parseLastEventId(header: string | undefined): number | undefined {
  if (!header || !/^\d{1,16}$/.test(header.trim())) return undefined;
  return Number(header.trim());
}

/**
 * Polls `read` and writes an event whenever the state changed and is newer than what the client has; a
 * keep-alive comment when nothing was written for keepAliveMs (proxies close silent connections); stops
 * after a terminal state, when the client goes away, or after maxDurationMs. Storage hiccups skip a poll;
 * a state that disappeared (NOT_FOUND) ends the stream with an `error` event.
 */
export async function pollToSse(stream: SSEStreamingApi, options: PollOptions): Promise<void> {
  const { logger } = options;
  const started = Date.now();
  let lastId = options.lastEventId ?? -1;
  let lastFingerprint: string | undefined;
  let lastWrite = Date.now();
  let sentRetry = false;
  let pending = options.first;

  while (!stream.aborted && !stream.closed) {
    let snapshot: Snapshot;
    try {
      snapshot = pending ?? (await options.read());
      pending = undefined;
    } catch (err) {
      if (isPhotoEnhanceError(err) && err.code === 'NOT_FOUND') {
        await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: publicBody(err) }) });
        return;
      }
      logger.warn({ err }, 'event stream: state could not be read; trying again');
      await stream.sleep(options.pollMs);
      continue;
    }
    // A final state is sent even when its id is not newer: ids come from the writers' clocks, and a record
    // stamped before another task's later progress write can be the last one to land (a batch whose last
    // task finished that way would otherwise end its stream without the final event).
    const newer = snapshot.id > lastId;
    if ((newer || snapshot.terminal) && snapshot.fingerprint !== lastFingerprint) {
      const id = newer ? snapshot.id : lastId + 1;
      await stream.writeSSE({
        event: snapshot.event,
        data: JSON.stringify(snapshot.data),
        id: String(id),
        ...(!sentRetry && options.retryMs !== undefined ? { retry: options.retryMs } : {}),
      });
      sentRetry = true;
      lastId = id;
      lastFingerprint = snapshot.fingerprint;
      lastWrite = Date.now();
    }
    if (snapshot.terminal) return;
    if (options.maxDurationMs !== undefined && Date.now() - started >= options.maxDurationMs) return;
    if (Date.now() - lastWrite >= options.keepAliveMs) {
      await stream.write(': keep-alive\n\n');
      lastWrite = Date.now();
    }
    if (options.wait) {
      const untilKeepAlive = Math.max(1, options.keepAliveMs - (Date.now() - lastWrite));
      const untilEnd =
        options.maxDurationMs === undefined ? untilKeepAlive : options.maxDurationMs - (Date.now() - started);
      await options.wait(Math.max(1, Math.min(untilKeepAlive, untilEnd)));
    } else await stream.sleep(options.pollMs);
  }
}
