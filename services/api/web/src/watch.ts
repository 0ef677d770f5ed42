import type { StreamToken, TaskProgressEvent } from '@photoenhance/contracts/events';
import { TERMINAL_STATUSES } from '@photoenhance/contracts/task-states';
import { ApiError, apiJson, getApiKey, type TaskView } from './api.ts';

/** Event streams open at once: a browser allows 6 HTTP/1.1 connections per host, uploads need some too. */
const MAX_STREAMS = 3;
const POLL_MS = 1000;
/** Times one watch may open its stream again with a new token after the stream closed. */
const MAX_FRESH_TOKENS = 3;
let streams = 0;
/** Photos being polled right now: together they poll about once a second, within the service's rate limit. */
let pollers = 0;

export interface WatchHandlers {
  /** A progress event, or a polled status (whose shape the caller chose with `statusPath`). */
  progress(
    view: Pick<TaskView, 'status' | 'stage' | 'progress' | 'percent' | 'message'> &
      Partial<Pick<TaskProgressEvent, 'frames_done' | 'frames_total' | 'eta_seconds'>>,
  ): void;
  /** completed, failed or cancelled: the full status view. */
  done(view: TaskView): void;
  error(err: unknown): void;
}

/**
 * Follows a task until it finishes: its SSE stream while one of MAX_STREAMS is free, polling the status
 * otherwise (switching to a stream as soon as one frees up). Stops when `signal` aborts.
 */
export function watchTask(
  taskId: string,
  handlers: WatchHandlers,
  signal: AbortSignal,
  /** What the polling fallback reads (a video card polls its frames at /api/v1/videos/{id}). */
  statusPath = `/api/v1/status/${taskId}`,
): void {
  let finished = false;
  let freshTokens = 0;
  const finish = (view: TaskView) => {
    if (finished) return;
    finished = true;
    handlers.done(view);
  };

  /**
   * EventSource cannot send the key header, and the key never goes in a URL: with a key, the stream is opened with
   * a short-lived token for this one task (POST …/stream-token, sent with the header). Without a key the stream
   * needs nothing.
   */
  const streamUrl = async (): Promise<string> => {
    const plain = `/api/v1/tasks/${taskId}/events`;
    if (!getApiKey()) return plain;
    const { events_url } = await apiJson<StreamToken>(`/api/v1/tasks/${taskId}/stream-token`, {
      method: 'POST',
      signal,
    });
    return events_url;
  };

  const stream = async () => {
    streams += 1;
    let url: string;
    try {
      url = await streamUrl();
    } catch {
      // No token (a 429, a dropped connection): follow the task by polling, which reports errors to the card.
      streams -= 1;
      if (!finished && !signal.aborted) void poll(false);
      return;
    }
    if (signal.aborted) {
      streams -= 1;
      return;
    }
    const source = new EventSource(url);
    const close = () => {
      source.close();
      streams -= 1;
    };
    signal.addEventListener('abort', close, { once: true });
    source.addEventListener('progress', (e) => handlers.progress(JSON.parse((e as MessageEvent).data)));
    // The terminal events are named after the terminal states (contracts/events.ts).
    for (const status of TERMINAL_STATUSES) {
      source.addEventListener(status, (e) => {
        signal.removeEventListener('abort', close);
        close();
        finish(JSON.parse((e as MessageEvent).data));
      });
    }
    source.onerror = () => {
      // A refused stream (404, 401) closes for good; a dropped one reconnects by itself (Last-Event-ID). A token
      // outlives its stream by at most its lifetime, so a stream closed while a key is held is opened again with a
      // fresh token (a few times: a stream refused for another reason would otherwise loop); then polling takes over.
      if (source.readyState === EventSource.CLOSED && !finished && !signal.aborted) {
        signal.removeEventListener('abort', close);
        close();
        if (getApiKey() && freshTokens < MAX_FRESH_TOKENS) {
          freshTokens += 1;
          void stream();
        } else void poll(false);
      }
    };
  };

  const poll = async (streamsAllowed: boolean) => {
    pollers += 1;
    try {
      await pollLoop(streamsAllowed);
    } finally {
      pollers -= 1;
    }
  };
  const pollLoop = async (streamsAllowed: boolean) => {
    while (!finished && !signal.aborted) {
      if (streamsAllowed && streams < MAX_STREAMS) return void stream();
      try {
        const view = await apiJson<TaskView>(statusPath, { signal });
        if (TERMINAL_STATUSES.has(view.status)) finish(view);
        else handlers.progress(view);
      } catch (err) {
        // Too many requests for this key: wait as long as the service asks, then go on polling.
        if (err instanceof ApiError && err.status === 429 && !signal.aborted) {
          await new Promise((r) => setTimeout(r, Math.max(POLL_MS, (err.retryAfter ?? 5) * 1000)));
          continue;
        }
        if (!signal.aborted) handlers.error(err);
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS * Math.max(1, pollers)));
    }
  };

  if (streams < MAX_STREAMS) void stream();
  else void poll(true);
}
