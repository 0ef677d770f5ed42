/**
 * The seed's browser client flow, over plain fetch: multipart upload with the form fields file / tile_size /
 * quality_level, poll the status URL until status === 'completed', fetch the download URL into a Blob.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface StatusBody {
  task_id: string;
  status: 'queued' | 'processing' | 'completed' | 'failed' | 'cancelled';
  /** 0–1; percent is the same 0–100. */
  progress: number;
  percent: number;
  stage?: string;
  message?: string;
  attempts?: number;
  result?: { filename: string; width: number; height: number; format: string; bytes: number; download_url: string };
  /** The failure as text (null while none) and its code. */
  error: string | null;
  error_code?: string;
}

export async function uploadImage(
  apiUrl: string,
  image: Buffer,
  fields: Record<string, string> = {},
  filename = 'photo.png',
  type = 'image/png',
): Promise<{
  status: number;
  body: { task_id?: string; status_url?: string; download_url?: string; error?: unknown };
}> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(image)], { type }), filename);
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const res = await fetch(`${apiUrl}/api/v1/enhance`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as never };
}

export async function getStatus(apiUrl: string, taskId: string): Promise<StatusBody> {
  const res = await fetch(`${apiUrl}/api/v1/status/${taskId}`);
  if (!res.ok) throw new Error(`status ${taskId}: HTTP ${res.status}`);
  return (await res.json()) as StatusBody;
}

/** Polls like the seed client; resolves on a terminal status (or the one asked for), records what it saw. */
export async function pollStatus(
  apiUrl: string,
  taskId: string,
  options: { until?: StatusBody['status'][]; timeoutMs?: number; intervalMs?: number } = {},
): Promise<{ final: StatusBody; seen: StatusBody[] }> {
  const until = options.until ?? ['completed', 'failed', 'cancelled'];
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const seen: StatusBody[] = [];
  for (;;) {
    const body = await getStatus(apiUrl, taskId);
    seen.push(body);
    if (until.includes(body.status)) return { final: body, seen };
    if (Date.now() > deadline)
      throw new Error(`task ${taskId} still ${body.status} (${body.stage}) after ${options.timeoutMs ?? 60_000} ms`);
    await sleep(options.intervalMs ?? 100);
  }
}

export async function downloadResult(apiUrl: string, downloadUrl: string): Promise<{ blob: Blob; response: Response }> {
  const url = downloadUrl.startsWith('http') ? downloadUrl : `${apiUrl}${downloadUrl}`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`download: HTTP ${response.status}`);
  return { blob: await response.blob(), response };
}

export async function cancelTask(apiUrl: string, taskId: string): Promise<Response> {
  return fetch(`${apiUrl}/api/v1/tasks/${taskId}`, { method: 'DELETE' });
}
