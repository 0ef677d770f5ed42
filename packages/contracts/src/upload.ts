import { z } from 'zod';
import { INPUT_MIME_TYPES, VIDEO_UPLOAD_CONTENT_TYPES } from './formats.ts';
import { OwnerIdSchema, TaskIdSchema } from './ids.ts';

const IsoTimestamp = z.iso.datetime({ offset: true });

/** MIME types a direct upload may declare; the stored object is still sniffed before the task starts. */
export const DIRECT_UPLOAD_CONTENT_TYPES = INPUT_MIME_TYPES;

/** POST /api/v1/videos/uploads body. */
export const VideoUploadRequestSchema = z.object({
  filename: z.string().trim().min(1).max(255),
  content_type: z.string().trim().toLowerCase().pipe(z.enum(VIDEO_UPLOAD_CONTENT_TYPES)),
  /** Exact byte size; signed into the URL, so the upload must be exactly this long. */
  size: z.number().int().min(1),
});
export type VideoUploadRequest = z.infer<typeof VideoUploadRequestSchema>;

/** POST /api/v1/uploads body. */
export const DirectUploadRequestSchema = z.object({
  filename: z.string().trim().min(1).max(255),
  content_type: z.string().trim().toLowerCase().pipe(z.enum(DIRECT_UPLOAD_CONTENT_TYPES)),
  /** Exact byte size; signed into the URL, so the upload must be exactly this long. */
  size: z.number().int().min(1),
});
export type DirectUploadRequest = z.infer<typeof DirectUploadRequestSchema>;

/**
 * uploads/{taskId}.json — written by the API when it hands out an upload URL, deleted when the task starts.
 * The task record does not exist before the start: until then nothing about the image is known.
 */
export const UploadRecordSchema = z.object({
  version: z.literal(1).default(1),
  taskId: TaskIdSchema,
  /** The tenant that asked for the upload URL; only it may start the task (absent without API keys). */
  owner: OwnerIdSchema.optional(),
  key: z.string().min(1),
  filename: z.string().min(1),
  contentType: z.enum([...DIRECT_UPLOAD_CONTENT_TYPES, ...VIDEO_UPLOAD_CONTENT_TYPES]),
  /** Which start route takes it: a photo's (POST /api/v1/tasks/{id}/start) or a video's (/api/v1/videos/{id}/start). */
  kind: z.enum(['image', 'video']).default('image'),
  bytes: z.number().int().min(1),
  createdAt: IsoTimestamp,
  expiresAt: IsoTimestamp,
});
export type UploadRecord = z.infer<typeof UploadRecordSchema>;
export type UploadRecordInput = z.input<typeof UploadRecordSchema>;

/** 201 answer to POST /api/v1/uploads. */
export const DirectUploadCreatedSchema = z.object({
  task_id: z.string(),
  upload: z.object({
    url: z.string(),
    method: z.literal('PUT'),
    /** Send exactly these headers: they are part of the signature. */
    headers: z.record(z.string(), z.string()),
    expires_at: z.string(),
  }),
  start_url: z.string(),
  status_url: z.string(),
  message: z.string(),
});
export type DirectUploadCreated = z.infer<typeof DirectUploadCreatedSchema>;
