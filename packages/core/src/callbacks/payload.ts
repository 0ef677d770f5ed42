import {
  ErrorCodeSchema,
  epochSeconds,
  imageSummary,
  type TaskRecord,
  TaskStatusSchema,
  taskUrls,
} from '@photoenhance/contracts';
import { z } from 'zod';

export const CALLBACK_EVENTS = ['task.completed', 'task.failed'] as const;
export type CallbackEvent = (typeof CALLBACK_EVENTS)[number];

export const EVENT_HEADER = 'x-photoenhance-event';
/** Same for every retry of one delivery, so receivers can drop duplicates. */
export const DELIVERY_HEADER = 'x-photoenhance-delivery';

/**
 * The JSON body POSTed to a task's callback_url (snake_case like the rest of the client API, and the same
 * units as the status body: `created_at` in epoch seconds beside `created_at_iso`, `error` as text beside
 * `error_code`).
 */
export const TaskCallbackSchema = z.object({
  event: z.enum(CALLBACK_EVENTS),
  delivery_id: z.string(),
  task_id: z.string(),
  batch_id: z.string().optional(),
  status: TaskStatusSchema,
  created_at: z.number(),
  created_at_iso: z.string(),
  completed_at: z.string().optional(),
  attempts: z.number().int(),
  status_url: z.string(),
  result: z
    .object({
      filename: z.string(),
      format: z.string(),
      width: z.number(),
      height: z.number(),
      bytes: z.number(),
      download_url: z.string(),
    })
    .optional(),
  error: z.string().optional(),
  error_code: ErrorCodeSchema.optional(),
});
export type TaskCallback = z.infer<typeof TaskCallbackSchema>;

/**
 * The callback body for a finished task, or undefined when the task is not completed/failed. Links are
 * relative unless `baseUrl` (the API's PUBLIC_BASE_URL) is given. The delivery id is derived from the task and
 * event, so a redelivered job that finishes twice produces the same id.
 */
export function taskCallbackPayload(record: TaskRecord, baseUrl?: string): TaskCallback | undefined {
  if (record.status !== 'completed' && record.status !== 'failed') return undefined;
  const urls = taskUrls(baseUrl, record.taskId);
  const event: CallbackEvent = record.status === 'completed' ? 'task.completed' : 'task.failed';
  const body: TaskCallback = {
    event,
    delivery_id: `${record.taskId}.${record.status}`,
    task_id: record.taskId,
    status: record.status,
    created_at: epochSeconds(record.createdAt),
    created_at_iso: record.createdAt,
    attempts: record.attempts,
    status_url: urls.status,
  };
  if (record.batchId) body.batch_id = record.batchId;
  if (record.completedAt) body.completed_at = record.completedAt;
  if (record.status === 'completed' && record.result) {
    body.result = { ...imageSummary(record.result), download_url: urls.download };
  }
  if (record.error) {
    body.error = record.error.message;
    body.error_code = record.error.code;
  }
  return body;
}
