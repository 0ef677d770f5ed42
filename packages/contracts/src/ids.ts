import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PhotoEnhanceError } from './errors/errors.ts';

/** UUID v4 only: ids end up in object keys, so anything else is refused before it gets near S3. */
export const UUID_V4_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Lower-case canonical form so the same id never maps to two keys. */
export const TaskIdSchema = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.string().regex(UUID_V4_PATTERN, 'must be a UUID v4'));
export type TaskId = z.output<typeof TaskIdSchema>;

export const BatchIdSchema = TaskIdSchema;

export function newId(): string {
  return randomUUID();
}

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && UUID_V4_PATTERN.test(value.toLowerCase());
}

/** Parses an id from client text; INVALID_INPUT (400) names what was wrong. */
export function parseId(value: unknown, what = 'task_id'): string {
  const parsed = TaskIdSchema.safeParse(value);
  if (!parsed.success) {
    throw new PhotoEnhanceError('INVALID_INPUT', `${what} must be a UUID v4`, { details: { field: what } });
  }
  return parsed.data;
}

/**
 * A tenant's id as stored on its tasks, batches and uploads: derived from a SHA-256 of the API key (never the key
 * itself, and not the hash the key is compared with), so records and logs can name an owner without holding a secret.
 */
export const OwnerIdSchema = z.string().regex(/^key_[0-9a-f]{24}$/, 'must be key_ and 24 hex digits');
export type OwnerId = z.output<typeof OwnerIdSchema>;
