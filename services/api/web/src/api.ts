/** The API as the page uses it: the key (kept in localStorage), JSON calls, uploads with byte progress. */
import type { WorkerModel } from '@photoenhance/contracts/worker';

// The answers' shapes are the service's contracts (type-only imports: nothing of them reaches the bundle).
export type { ImageSummary, TaskView } from '@photoenhance/contracts/task-view';

const KEY_STORAGE = 'photoenhance.apiKey';

/** An API answer that was not 2xx, with the service's error code and message when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds the service asked to wait (Retry-After of a 429 or 503), when it said. */
  readonly retryAfter: number | undefined;
  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export function getApiKey(): string {
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

export function setApiKey(key: string): void {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

export function authHeaders(): Record<string, string> {
  const key = getApiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** The error body `{"error": {"code", "message"}}`, or words for whatever else came back. */
export function errorFromBody(status: number, text: string, retryAfter?: string | null): ApiError {
  const wait = retryAfter ? Number(retryAfter) : Number.NaN;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (body.error && typeof body.error.code === 'string' && typeof body.error.message === 'string') {
      return new ApiError(status, body.error.code, body.error.message, Number.isFinite(wait) ? wait : undefined);
    }
  } catch {
    // not JSON: a proxy's page, an empty body
  }
  // Never a raw body on a card: an HTML error page, XML or someone else's JSON says nothing to a person.
  return new ApiError(
    status,
    status === 0 ? 'NETWORK' : `HTTP_${status}`,
    status === 0 ? 'The connection failed' : `The service answered with an error (HTTP ${status})`,
  );
}

/**
 * A refusal from the object store (the presigned PUT of a direct upload), in plain words: S3, MinIO and the
 * embedded backend answer XML (`<Code>…</Code>`), a proxy in front of them may answer anything.
 */
export function storageError(status: number, text: string): ApiError {
  const code = /<Code>([^<]{1,64})<\/Code>/.exec(text)?.[1] ?? '';
  if (status === 413 || code === 'EntityTooLarge') {
    return new ApiError(status, 'FILE_TOO_LARGE', 'The storage refused a file this large.');
  }
  if (code === 'RequestExpired' || /expired/i.test(code)) {
    return new ApiError(
      status,
      'UPLOAD_EXPIRED',
      'The upload link expired before the photo was sent: add the photo again.',
    );
  }
  if (status === 403) {
    return new ApiError(status, 'UPLOAD_REFUSED', 'The storage refused the upload link: add the photo again.');
  }
  return new ApiError(status, `HTTP_${status}`, `The storage could not take the photo (HTTP ${status}): try again.`);
}

export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string>) } });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw new ApiError(0, 'NETWORK', 'The service could not be reached');
  }
  if (!res.ok) throw errorFromBody(res.status, await res.text(), res.headers.get('Retry-After'));
  return res;
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await apiFetch(path, { ...init, headers: { Accept: 'application/json', ...init.headers } })).json() as T;
}

export interface SendOptions {
  method: string;
  url: string;
  body: XMLHttpRequestBodyInit;
  headers?: Record<string, string>;
  onProgress?: (sent: number, total: number) => void;
  signal: AbortSignal;
  /** How a non-2xx answer becomes an error (default: the API's JSON error shape). */
  toError?: (status: number, text: string) => ApiError;
}

/** XMLHttpRequest, because fetch cannot report upload progress. Resolves with the body text of a 2xx answer. */
export function send(options: SendOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(options.method, options.url);
    for (const [name, value] of Object.entries(options.headers ?? {})) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => options.onProgress?.(e.loaded, e.total);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve(xhr.responseText)
        : reject((options.toError ?? errorFromBody)(xhr.status, xhr.responseText));
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'The upload was interrupted (network error)'));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    options.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(options.body);
  });
}

export interface ServiceInfo {
  limits: { max_upload_bytes: number; max_input_pixels: number; direct_upload_max_bytes?: number };
}

/** One row of GET /api/v1/models: a model as the workers report it (id, task, ready, default, face_size). */
export type ModelRow = WorkerModel;
