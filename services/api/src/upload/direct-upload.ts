import type { DirectUploadCreated, UploadRecordInput } from '@photoenhance/contracts';
import { newId } from '@photoenhance/contracts';
import { keys, safeName } from '@photoenhance/core';
import type { Logger } from 'pino';
import type { Tenant } from '../auth/tenants.ts';
import type { RouteDeps } from '../http/env.ts';

/** What a direct upload is issued for: a photo (`/api/v1/uploads`) or a video (`/api/v1/videos/uploads`). */
export interface DirectUploadRequest {
  tenant: Tenant;
  kind: UploadRecordInput['kind'];
  filename: string;
  /** The name used when the client's is unusable (safeName). */
  fallbackName: string;
  contentType: string;
  size: number;
  /** Where the client starts the upload once stored, and where it then polls, for a new task id. */
  startPath(taskId: string): string;
  statusUrl(taskId: string): string;
  message: string;
}

/**
 * Issues a direct upload, the same way for photos and videos: a presigned PUT for the task's input key (type and
 * size signed), the pending-upload record that the start route checks (owner, expiry), and the client's answer.
 */
export async function issueDirectUpload(
  { storage, records, config }: Pick<RouteDeps, 'storage' | 'records' | 'config'>,
  request: DirectUploadRequest,
  logger: Logger,
): Promise<DirectUploadCreated> {
  const taskId = newId();
  const filename = safeName(request.filename, request.fallbackName);
  const key = keys.input(taskId, filename);
  const link = await storage.presignPut(key, {
    contentType: request.contentType,
    contentLength: request.size,
    expiresIn: config.UPLOAD_URL_EXPIRY_SECONDS,
  });
  const { owner } = request.tenant;
  const record: UploadRecordInput = {
    taskId,
    ...(owner ? { owner } : {}),
    key,
    filename,
    contentType: request.contentType,
    kind: request.kind,
    bytes: request.size,
    createdAt: new Date().toISOString(),
    expiresAt: link.expiresAt.toISOString(),
  };
  await records.uploads.write(record);
  logger.info(
    { taskId, kind: request.kind, bytes: request.size, contentType: request.contentType },
    'direct upload issued',
  );
  const base = (config.PUBLIC_BASE_URL ?? '').replace(/\/+$/, '');
  return {
    task_id: taskId,
    upload: { url: link.url, method: 'PUT', headers: link.headers, expires_at: record.expiresAt },
    start_url: `${base}${request.startPath(taskId)}`,
    status_url: request.statusUrl(taskId),
    message: request.message,
  };
}

/**
 * One start per upload at a time on this instance: an attempt waits for the one before it to settle, so a
 * second caller finds the task started (409) instead of sending a second job. (Across instances the task record
 * written first decides; see docs/design.md.)
 */
export function createStartQueue() {
  const starting = new Map<string, Promise<unknown>>();
  return <T>(taskId: string, attempt: () => Promise<T>): Promise<T> => {
    const previous = starting.get(taskId) ?? Promise.resolve();
    const run = previous.then(attempt, attempt);
    const settled = run.catch(() => undefined);
    starting.set(taskId, settled);
    void settled.then(() => {
      if (starting.get(taskId) === settled) starting.delete(taskId);
    });
    return run;
  };
}
