import { z } from 'zod';
import { PhotoEnhanceError } from './errors/errors.ts';
import { BatchIdSchema, TaskIdSchema } from './ids.ts';
import { EnhanceOptionsSchema } from './options.ts';

/**
 * SQS job body. Versioned so a worker can refuse (and dead-letter) a shape it does not know instead of
 * misreading it; carries keys only — image bytes never travel through the queue (256 KB limit, cost).
 */
export const JobMessageV1Schema = z.object({
  version: z.literal(1),
  taskId: TaskIdSchema,
  batchId: BatchIdSchema.optional(),
  inputKey: z.string().min(1).max(1024),
  options: EnhanceOptionsSchema,
});
export type JobMessageV1 = z.infer<typeof JobMessageV1Schema>;

export const JobMessageSchema = z.discriminatedUnion('version', [JobMessageV1Schema]);
export type JobMessage = z.infer<typeof JobMessageSchema>;

export function serializeJobMessage(message: JobMessage): string {
  return JSON.stringify(JobMessageSchema.parse(message));
}

/** INVALID_INPUT for bodies that are not JSON or not a known message version (poison messages). */
export function parseJobMessage(body: string): JobMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw new PhotoEnhanceError('INVALID_INPUT', 'Job message is not JSON', { cause });
  }
  const parsed = JobMessageSchema.safeParse(json);
  if (!parsed.success) {
    throw new PhotoEnhanceError('INVALID_INPUT', `Job message is invalid: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
