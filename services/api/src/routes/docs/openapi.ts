import {
  DownloadLinkSchema,
  EnhanceAcceptedSchema,
  EnhanceFormSchema,
  ErrorBodySchema,
  SEED_QUALITY_LEVELS,
  TaskDeletedSchema,
  TaskStatusResponseSchema,
} from '@photoenhance/core';
import { z } from 'zod';

/** JSON Schema (OpenAPI 3.1 dialect) straight from the zod contracts, so the docs cannot drift from the code. */
function schema(type: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(type, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

function errorResponses(codes: Record<number, string>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(codes).map(([status, description]) => [
      status,
      { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );
}

const taskIdParam = {
  name: 'task_id',
  in: 'path',
  required: true,
  description: 'Task id (UUID v4) returned by POST /api/v1/enhance',
  schema: { type: 'string', format: 'uuid' },
};

export function buildOpenApiDocument(options: { maxUploadBytes: number }): Record<string, unknown> {
  const form = schema(EnhanceFormSchema, 'input') as { properties: Record<string, Record<string, unknown>> };
  form.properties.quality_level = {
    type: 'string',
    enum: [...SEED_QUALITY_LEVELS],
    description: 'Seed levels; low = fast',
  };
  form.properties.output_format = { type: 'string', enum: ['auto', 'jpeg', 'jpg', 'png', 'webp'] };
  return {
    openapi: '3.1.0',
    info: {
      title: 'PhotoEnhance API',
      version: '0.1.0',
      description:
        'Upload a portrait, poll its status, download the result. Face restoration (GFPGAN family) + Real-ESRGAN super-resolution, run by GPU workers behind an SQS queue.',
    },
    paths: {
      '/api/v1/enhance': {
        post: {
          summary: 'Queue an image for enhancement',
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['file'],
                  properties: {
                    file: {
                      type: 'string',
                      format: 'binary',
                      description: `Image, at most ${options.maxUploadBytes} bytes`,
                    },
                    ...form.properties,
                  },
                },
              },
            },
          },
          responses: {
            202: {
              description: 'Queued',
              content: { 'application/json': { schema: schema(EnhanceAcceptedSchema, 'output') } },
            },
            ...errorResponses({
              400: 'Missing file or invalid option (INVALID_INPUT, INVALID_OPTIONS)',
              413: 'Upload over the limit (FILE_TOO_LARGE)',
              415: 'Not a supported image (UNSUPPORTED_FORMAT)',
              422: 'Empty, corrupt, too many pixels or output too large',
              503: 'Storage or queue unavailable (retry)',
            }),
          },
        },
      },
      '/api/v1/status/{task_id}': {
        get: {
          summary: 'Task status, progress, result or error',
          parameters: [taskIdParam],
          responses: {
            200: {
              description: 'Task',
              content: { 'application/json': { schema: schema(TaskStatusResponseSchema, 'output') } },
            },
            ...errorResponses({ 400: 'Malformed id', 404: 'Unknown task' }),
          },
        },
      },
      '/api/v1/download/{task_id}': {
        get: {
          summary: 'Download the result (302 to a short-lived URL, or ?redirect=false for JSON)',
          parameters: [
            taskIdParam,
            { name: 'redirect', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } },
          ],
          responses: {
            200: {
              description: 'JSON link (redirect=false) or the file itself when the API proxies downloads',
              content: { 'application/json': { schema: schema(DownloadLinkSchema, 'output') } },
            },
            302: { description: 'Redirect to a presigned object URL' },
            ...errorResponses({ 400: 'Malformed id', 404: 'Unknown task', 409: 'Not completed yet' }),
          },
        },
      },
      '/api/v1/tasks/{task_id}': {
        get: {
          summary: 'Same as /api/v1/status/{task_id}',
          parameters: [taskIdParam],
          responses: {
            200: {
              description: 'Task',
              content: { 'application/json': { schema: schema(TaskStatusResponseSchema, 'output') } },
            },
          },
        },
        delete: {
          summary: 'Cancel a running task or delete a finished one (and its images)',
          parameters: [taskIdParam],
          responses: {
            200: {
              description: 'Cancelled or deleted',
              content: { 'application/json': { schema: schema(TaskDeletedSchema, 'output') } },
            },
            ...errorResponses({ 400: 'Malformed id', 404: 'Unknown task' }),
          },
        },
      },
      '/health': { get: { summary: 'Process is up', responses: { 200: { description: 'OK' } } } },
      '/ready': {
        get: {
          summary: 'S3 and SQS reachable',
          responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready' } },
        },
      },
    },
    components: { schemas: { Error: schema(ErrorBodySchema, 'output') } },
  };
}
