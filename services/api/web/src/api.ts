/** The API as the page uses it: the key (kept in localStorage), JSON calls, uploads with byte progress. */

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
  return new ApiError(status, status === 0 ? 'NETWORK' : `HTTP_${status}`, text.slice(0, 200) || `HTTP ${status}`);
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
        : reject(errorFromBody(xhr.status, xhr.responseText));
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'The upload was interrupted (network error)'));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    options.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(options.body);
  });
}

/** Image summary as the status route reports it. */
export interface ImageSummary {
  filename: string;
  format: string;
  width: number;
  height: number;
  bytes: number;
}

/** GET /api/v1/status/{id} and the final SSE event (the fields the page uses). */
export interface TaskView {
  task_id: string;
  status: 'queued' | 'processing' | 'completed' | 'failed' | 'cancelled';
  progress: number;
  stage: string;
  message: string;
  created_at: string;
  completed_at?: string;
  /** When the service deletes the photo and its result (RETENTION_HOURS after it finished). */
  expires_at?: string;
  input?: ImageSummary;
  result?: ImageSummary & {
    download_url: string;
    faces: { detected: number; restored: number; notice?: string; model?: string };
    models: string[];
    timings: Record<string, number>;
    warnings: string[];
  };
  error?: { code: string; message: string };
}

export interface ServiceInfo {
  limits: { max_upload_bytes: number; max_input_pixels: number; direct_upload_max_bytes?: number };
}

export interface ModelRow {
  id: string;
  task: 'upscale' | 'face-detect' | 'face-restore';
  ready: boolean;
  default: boolean;
}
