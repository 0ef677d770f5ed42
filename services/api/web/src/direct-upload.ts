import { apiFetch, apiJson, send, storageError } from './api.ts';

/**
 * The direct-upload flow of the photo and video cards: ask `createUrl` for a presigned PUT (type and size
 * signed), PUT the file straight to storage with byte progress, then POST the returned start_url with the
 * options. Resolves with the task id.
 */
export async function uploadDirect(options: {
  file: File;
  /** /api/v1/uploads (photos) or /api/v1/videos/uploads. */
  createUrl: string;
  fields: Record<string, string>;
  onProgress: (sent: number, total: number) => void;
  /** Between the PUT and the start (the service checks the stored file then). */
  onStarting?: () => void;
  signal: AbortSignal;
}): Promise<string> {
  const { file, signal } = options;
  const created = await apiJson<{
    task_id: string;
    upload: { url: string; headers: Record<string, string> };
    start_url: string;
  }>(options.createUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ filename: file.name, content_type: file.type, size: file.size }),
    signal,
  });
  // Content-Length is set by the browser itself (and is signed to this size).
  const headers = Object.fromEntries(
    Object.entries(created.upload.headers).filter(([name]) => name.toLowerCase() !== 'content-length'),
  );
  await send({
    method: 'PUT',
    url: created.upload.url,
    body: file,
    headers,
    onProgress: options.onProgress,
    signal,
    toError: storageError,
  });
  options.onStarting?.();
  await apiFetch(created.start_url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(options.fields),
    signal,
  });
  return created.task_id;
}
