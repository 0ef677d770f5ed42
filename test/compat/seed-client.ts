/**
 * A client that behaves as PhotoEnhanceAI's own clients do (its httpx / requests / aiohttp test scripts and its
 * browser pages), written from the facts of its API: it never follows redirects (`requests` keeps a 302 as the
 * answer for its `status_code == 200` checks, like fetch with redirect: 'manual'), it takes `status == 200` as
 * the only success, reads JSON fields by PhotoEnhanceAI's names and units, and prints `detail` on errors.
 */

export interface SeedAnswer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** The fields PhotoEnhanceAI's TaskResponse has (POST /api/v1/enhance). */
export interface SeedTaskResponse {
  task_id: string;
  status: string;
  message: string;
  created_at: number;
}

/** PhotoEnhanceAI's TaskStatus (GET /api/v1/status/{id}). */
export interface SeedTaskStatus {
  task_id: string;
  status: string;
  message: string;
  progress: number | null;
  result_url: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  processing_time: number | null;
}

export interface SeedBatchResponse {
  batch_task_id: string;
  total_files: number;
  status: string;
  message: string;
  created_at: number;
  sub_tasks: string[];
}

export interface SeedBatchStatus {
  batch_task_id: string;
  status: string;
  total_files: number;
  completed_files: number;
  failed_files: number;
  progress: number;
  sub_tasks: { task_id: string; status: string; filename: string; progress: number; error: string | null }[];
  created_at: number;
  updated_at: number;
  message: string;
}

export interface SeedFile {
  name: string;
  bytes: Buffer;
  type: string;
}

export class SeedClient {
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }

  async request<T>(path: string, init: RequestInit = {}): Promise<SeedAnswer<T>> {
    const res = await fetch(`${this.base}${path}`, { ...init, redirect: 'manual' });
    const type = res.headers.get('content-type') ?? '';
    const body = (type.includes('application/json') ? await res.json() : Buffer.from(await res.arrayBuffer())) as T;
    return { status: res.status, body, headers: res.headers };
  }

  /** `client.post(url, files={'file': …}, params={…})` — options as query parameters (its Python clients). */
  enhance(file: SeedFile, params: Record<string, string> = {}, formFields: Record<string, string> = {}) {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(file.bytes)], { type: file.type }), file.name);
    for (const [k, v] of Object.entries(formFields)) form.append(k, v);
    const query = new URLSearchParams(params).toString();
    return this.request<SeedTaskResponse>(`/api/v1/enhance${query ? `?${query}` : ''}`, { method: 'POST', body: form });
  }

  /** `aiohttp.FormData` with several `files` and the options as form fields (its stream/batch tests and pages). */
  enhanceBatch(files: SeedFile[], formFields: Record<string, string> = {}, params: Record<string, string> = {}) {
    const form = new FormData();
    for (const f of files) form.append('files', new Blob([new Uint8Array(f.bytes)], { type: f.type }), f.name);
    for (const [k, v] of Object.entries(formFields)) form.append(k, v);
    const query = new URLSearchParams(params).toString();
    return this.request<SeedBatchResponse>(`/api/v1/enhance/batch${query ? `?${query}` : ''}`, {
      method: 'POST',
      body: form,
    });
  }

  status(taskId: string) {
    return this.request<SeedTaskStatus>(`/api/v1/status/${taskId}`);
  }

  batchStatus(batchId: string) {
    return this.request<SeedBatchStatus>(`/api/v1/batch/status/${batchId}`);
  }

  download(taskId: string) {
    return this.request<Buffer>(`/api/v1/download/${taskId}`);
  }

  batchDownload(batchId: string) {
    return this.request<Buffer>(`/api/v1/batch/download/${batchId}`);
  }

  delete(taskId: string) {
    return this.request<{ message: string }>(`/api/v1/tasks/${taskId}`, { method: 'DELETE' });
  }

  /** Polls as its clients do (every interval, until a terminal status), printing `int(progress * 100)`. */
  async waitForTask(taskId: string, timeoutMs = 90_000): Promise<{ final: SeedTaskStatus; printed: number[] }> {
    const printed: number[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status, body } = await this.status(taskId);
      if (status !== 200) throw new Error(`status check failed: ${status}`);
      printed.push(Math.trunc((body.progress ?? 0) * 100));
      if (body.status === 'completed' || body.status === 'failed') return { final: body, printed };
      if (Date.now() > deadline) throw new Error(`task ${taskId} still ${body.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The batch page's loop: status until completed / partial_completed / failed. */
  async waitForBatch(
    batchId: string,
    timeoutMs = 120_000,
  ): Promise<{ final: SeedBatchStatus; seen: SeedBatchStatus[] }> {
    const seen: SeedBatchStatus[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status, body } = await this.batchStatus(batchId);
      if (status !== 200) throw new Error(`batch status failed: ${status}`);
      seen.push(body);
      if (['completed', 'partial_completed', 'failed'].includes(body.status)) return { final: body, seen };
      if (Date.now() > deadline) throw new Error(`batch ${batchId} still ${body.status}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}
