import { z } from 'zod';
import { TaskStatusSchema } from './task.ts';

/**
 * GET /health: PhotoEnhanceAI's body (status "healthy", timestamp in epoch seconds, active_tasks,
 * model_status) plus this API's uptime. The model status is what the alive registered workers report: the API
 * itself runs no model.
 */
export const HealthResponseSchema = z.object({
  status: z.literal('healthy'),
  timestamp: z.number(),
  /** Jobs a worker holds right now (the queue's in-flight messages). */
  active_tasks: z.number().int().min(0),
  model_status: z.object({
    /** Some alive worker has its models loaded and takes jobs. */
    initialized: z.boolean(),
    /** Some alive worker runs on a CUDA (or TensorRT) execution provider. */
    cuda_available: z.boolean(),
    /** cuda when any alive worker runs on a GPU provider, cpu when they all run on CPU, none without workers. */
    device: z.enum(['cuda', 'cpu', 'none']),
  }),
  uptime_seconds: z.number().int().min(0),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

/** GET / for API clients (Accept without text/html): PhotoEnhanceAI's service, version, status, endpoints. */
export const ServiceInfoSchema = z.object({
  service: z.string(),
  version: z.string(),
  status: z.literal('running'),
  description: z.string(),
  endpoints: z.record(z.string(), z.string()),
  limits: z.object({
    max_upload_bytes: z.number().int(),
    max_input_pixels: z.number().int(),
    max_output_pixels: z.number().int(),
    scale: z.object({ min: z.number(), max: z.number() }),
    direct_upload_max_bytes: z.number().int(),
  }),
});
export type ServiceInfo = z.infer<typeof ServiceInfoSchema>;

/** GET /api/v1/tasks: PhotoEnhanceAI's listing (total_tasks, tasks with epoch-second times), the caller's own only. */
export const TaskListResponseSchema = z.object({
  total_tasks: z.number().int().min(0),
  tasks: z.array(
    z.object({
      task_id: z.string(),
      status: TaskStatusSchema,
      created_at: z.number(),
      updated_at: z.number(),
      filename: z.string(),
      batch_id: z.string().optional(),
    }),
  ),
});
export type TaskListResponse = z.infer<typeof TaskListResponseSchema>;

/**
 * The body a gateway built for PhotoEnhanceAI takes at its register URL (its README's register_webhook.sh):
 * the worker's public address and the shared secret, in clear. Only sent when GATEWAY_PROTOCOL=photoenhanceai.
 */
export const SeedGatewayRegistrationSchema = z.object({
  ip: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  secret: z.string().min(1),
});
export type SeedGatewayRegistration = z.infer<typeof SeedGatewayRegistrationSchema>;
