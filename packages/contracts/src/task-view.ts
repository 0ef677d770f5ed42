import { publicErrorMessage } from './errors/public-message.ts';
import type { TaskStatusResponse } from './http.ts';
import type { TaskError } from './task.ts';

/**
 * The pieces of a task that clients see the same way in every answer: the status body, the SSE events and the
 * webhook body are built from these, so a link or a field cannot differ between them. No zod at run time: the
 * browser bundle imports this module as `@photoenhance/contracts/task-view`.
 */

/** A task as GET /api/v1/status/{task_id} and the terminal SSE event show it (TaskStatusResponseSchema). */
export type TaskView = TaskStatusResponse;

/** A task's public links: relative paths, or absolute under the API's public base URL (trailing slashes dropped). */
export function taskUrls(baseUrl: string | undefined, taskId: string): { status: string; download: string } {
  const base = (baseUrl ?? '').replace(/\/+$/, '');
  return { status: `${base}/api/v1/status/${taskId}`, download: `${base}/api/v1/download/${taskId}` };
}

export interface ImageSummary {
  filename: string;
  format: string;
  width: number;
  height: number;
  bytes: number;
}

/** An input or result image as clients see it: name, format, size; never its storage key. */
export function imageSummary(image: ImageSummary): ImageSummary {
  return {
    filename: image.filename,
    format: image.format,
    width: image.width,
    height: image.height,
    bytes: image.bytes,
  };
}

/** A task error as clients see it: code and message only, the message without storage keys or SDK names. */
export function taskErrorView(error: TaskError): TaskError {
  return { code: error.code, message: publicErrorMessage(error.code, error.message) };
}
