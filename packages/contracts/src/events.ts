import { z } from 'zod';
import { TaskStatusSchema } from './task.ts';

/**
 * Server-Sent Events of GET /api/v1/tasks/{task_id}/events and GET /api/v1/batch/events/{batch_task_id}.
 * `progress` while unfinished; then one terminal event (`completed`, `failed` or `cancelled`) whose data is
 * the same body as the status route, and the stream closes. Event ids grow monotonically (milliseconds of
 * the state's last update), so a reconnect with Last-Event-ID only gets newer states.
 */
export const TASK_EVENT_TYPES = ['progress', 'completed', 'failed', 'cancelled'] as const;
export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];

/** Data of a task `progress` event. */
export const TaskProgressEventSchema = z.object({
  task_id: z.string(),
  status: TaskStatusSchema,
  stage: z.string(),
  /** Fraction 0–1, as in the status body; `percent` is the same 0–100. */
  progress: z.number().min(0).max(1),
  percent: z.number().min(0).max(100),
  message: z.string(),
  updated_at: z.string(),
  /** Videos only: frames enhanced so far and in all (the clip's frame count), as in GET /api/v1/videos/{id}. */
  frames_done: z.number().int().min(0).optional(),
  frames_total: z.number().int().min(1).optional(),
  /** Videos only, while processing: seconds left at the pace so far (absent until the first frames are done). */
  eta_seconds: z.number().min(0).optional(),
});
export type TaskProgressEvent = z.infer<typeof TaskProgressEventSchema>;

/**
 * POST /api/v1/tasks/{task_id}/stream-token and POST /api/v1/batch/stream-token/{batch_task_id}: a short-lived token
 * that opens that one event stream (`?token=`), for browsers whose EventSource cannot send an Authorization header.
 */
export const StreamTokenSchema = z.object({
  token: z.string().meta({ description: 'Opaque; valid only for this task or batch, until expires_at' }),
  expires_at: z.iso.datetime().meta({ description: 'When the token stops opening the stream (ISO 8601)' }),
  events_url: z.string().meta({ description: 'The event stream with the token: give it to EventSource as is' }),
});
export type StreamToken = z.infer<typeof StreamTokenSchema>;
