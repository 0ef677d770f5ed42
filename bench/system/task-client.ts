/**
 * The client side of one task, as a browser would do it: multipart upload, wait for a terminal state (SSE
 * events when the API serves them, else status polling), download the result bytes. Every body is parsed
 * with the API's own zod contracts, so a drifted response fails loudly instead of skewing numbers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type EnhanceAccepted,
  EnhanceAcceptedSchema,
  PhotoEnhanceError,
  type TaskStatusResponse,
  TaskStatusResponseSchema,
} from '@photoenhance/contracts';
import { readSseEvents } from './sse.ts';

export type WaitMode = 'sse' | 'poll';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

async function fetchOk(url: string, init: RequestInit, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (cause) {
    throw new PhotoEnhanceError('INTERNAL', `${what}: request failed`, { cause });
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    throw new PhotoEnhanceError('INTERNAL', `${what}: HTTP ${res.status} ${text.slice(0, 200)}`, {
      details: { status: res.status },
    });
  }
  return res;
}

function parse<T>(schema: { parse(value: unknown): T }, value: unknown, what: string): T {
  try {
    return schema.parse(value);
  } catch (cause) {
    throw new PhotoEnhanceError('INTERNAL', `${what}: unexpected response shape`, { cause });
  }
}

export async function uploadImage(
  apiUrl: string,
  image: Buffer,
  fields: Record<string, string>,
  filename = 'bench.jpg',
): Promise<EnhanceAccepted> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), filename);
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const res = await fetchOk(`${apiUrl}/api/v1/enhance`, { method: 'POST', body: form }, 'upload');
  return parse(EnhanceAcceptedSchema, await res.json(), 'upload');
}

export async function getStatus(apiUrl: string, taskId: string): Promise<TaskStatusResponse> {
  const res = await fetchOk(`${apiUrl}/api/v1/status/${taskId}`, {}, `status ${taskId}`);
  return parse(TaskStatusResponseSchema, await res.json(), `status ${taskId}`);
}

const eventsUrl = (apiUrl: string, taskId: string) => `${apiUrl}/api/v1/tasks/${taskId}/events`;

/** SSE when GET /api/v1/tasks/{id}/events answers with an event stream, polling otherwise (route not there). */
export async function detectWaitMode(apiUrl: string, taskId: string): Promise<WaitMode> {
  const controller = new AbortController();
  try {
    const res = await fetch(eventsUrl(apiUrl, taskId), { signal: controller.signal });
    return res.ok && (res.headers.get('content-type') ?? '').startsWith('text/event-stream') ? 'sse' : 'poll';
  } finally {
    controller.abort();
  }
}

export interface WaitOptions {
  mode: WaitMode;
  /** Gap between two status requests in poll mode. */
  pollMs: number;
  timeoutMs: number;
}

/** Resolves with the status body of the task's terminal state (completed, failed or cancelled). */
export async function waitForTerminal(
  apiUrl: string,
  taskId: string,
  options: WaitOptions,
): Promise<TaskStatusResponse> {
  return options.mode === 'sse' ? waitBySse(apiUrl, taskId, options.timeoutMs) : waitByPolling(apiUrl, taskId, options);
}

async function waitByPolling(apiUrl: string, taskId: string, options: WaitOptions): Promise<TaskStatusResponse> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const body = await getStatus(apiUrl, taskId);
    if (TERMINAL.has(body.status)) return body;
    if (performance.now() > deadline) {
      throw new PhotoEnhanceError('INTERNAL', `task ${taskId} still ${body.status} after ${options.timeoutMs} ms`);
    }
    await sleep(options.pollMs);
  }
}

async function waitBySse(apiUrl: string, taskId: string, timeoutMs: number): Promise<TaskStatusResponse> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetchOk(eventsUrl(apiUrl, taskId), { signal: controller.signal }, `events ${taskId}`);
    if (!res.body) throw new PhotoEnhanceError('INTERNAL', `events ${taskId}: empty body`);
    for await (const event of readSseEvents(res.body)) {
      // The terminal event carries the same body as the status route (contracts/events.ts).
      if (TERMINAL.has(event.event)) return parse(TaskStatusResponseSchema, JSON.parse(event.data), `event ${taskId}`);
      if (event.event === 'error')
        throw new PhotoEnhanceError('INTERNAL', `events ${taskId}: ${event.data.slice(0, 200)}`);
    }
    throw new PhotoEnhanceError('INTERNAL', `events ${taskId}: stream ended before a terminal event`);
  } catch (err) {
    if (controller.signal.aborted && !(err instanceof PhotoEnhanceError)) {
      throw new PhotoEnhanceError('INTERNAL', `task ${taskId}: no terminal event within ${timeoutMs} ms`, {
        cause: err,
      });
    }
    throw err;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** Fetches the result (following the API's redirect, or its proxied stream) and reads every byte. */
export async function downloadResult(apiUrl: string, downloadUrl: string): Promise<number> {
  const url = downloadUrl.startsWith('http') ? downloadUrl : `${apiUrl}${downloadUrl}`;
  const res = await fetchOk(url, {}, 'download');
  return (await res.arrayBuffer()).byteLength;
}
