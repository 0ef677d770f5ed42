import type { TaskProgressEvent } from '@photoenhance/contracts/events';
import { TERMINAL_STATUSES } from '@photoenhance/contracts/task-states';
import { ApiError, apiJson, getApiKey, type TaskView } from './api.ts';

/** Event streams open at once: a browser allows 6 HTTP/1.1 connections per host, uploads need some too. */
const MAX_STREAMS = 3;
const POLL_MS = 1000;
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
  const finish = (view: TaskView) => {
    if (finished) return;
    finished = true;
    handlers.done(view);
  };

  const stream = () => {
    streams += 1;
    const key = getApiKey();
    const url = `/api/v1/tasks/${taskId}/events${key ? `?api_key=${encodeURIComponent(key)}` : ''}`;
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
      // A refused stream (404, 401) closes for good; a dropped one reconnects by itself (Last-Event-ID).
      if (source.readyState === EventSource.CLOSED && !finished && !signal.aborted) {
        signal.removeEventListener('abort', close);
        close();
        void poll(false);
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
      if (streamsAllowed && streams < MAX_STREAMS) return stream();
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

  if (streams < MAX_STREAMS) stream();
  else void poll(true);
}
