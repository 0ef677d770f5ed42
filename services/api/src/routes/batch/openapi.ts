import { BatchAcceptedSchema, BatchStatusResponseSchema, EnhanceFormSchema } from '@photoenhance/contracts';
import {
  errorResponses,
  jsonContent,
  jsonResponse,
  multipartBody,
  type PathItems,
  schema,
  seedQueryParams,
  uuidPathParam,
} from '../docs/openapi-helpers.ts';
import { BatchGroupedSchema, BatchGroupRequestSchema } from './group.ts';

export const batchIdParam = uuidPathParam('batch_task_id', 'Batch id (UUID v4) returned by POST /api/v1/enhance/batch');

/** OpenAPI path items of the batch routes. */
export function batchPaths(options: { maxFiles: number; maxUploadBytes: number }): PathItems {
  const form = schema(EnhanceFormSchema, 'input') as { properties: Record<string, unknown> };
  return {
    '/api/v1/batches': {
      post: {
        summary: 'Group tasks queued one by one into a batch (batch status, events and ZIP then work for them)',
        requestBody: { required: true, content: jsonContent(BatchGroupRequestSchema, 'input') },
        responses: {
          201: jsonResponse('Batch created', BatchGroupedSchema),
          ...errorResponses({ 400: 'Not {"task_ids": [...]} with 1–500 distinct ids', 404: 'A task does not exist' }),
        },
      },
    },
    '/api/v1/enhance/batch': {
      post: {
        summary: 'Queue many images with shared options (one task each; refused files are reported, the rest run)',
        parameters: seedQueryParams(),
        requestBody: multipartBody(
          'files',
          {
            type: 'array',
            items: { type: 'string', format: 'binary' },
            maxItems: options.maxFiles,
            description: `Images (field files or files[]), each at most ${options.maxUploadBytes} bytes`,
          },
          form.properties,
        ),
        responses: {
          200: jsonResponse('Queued (rejected lists files refused at upload)', BatchAcceptedSchema),
          ...errorResponses({
            400: 'No files, too many files, or an invalid option',
            413: 'Batch over the size limit',
            415: 'No file is a supported image',
            422: 'No file was accepted (empty, corrupt, too many pixels)',
            503: 'Storage or queue unavailable (retry)',
          }),
        },
      },
    },
    '/api/v1/batch/status/{batch_task_id}': {
      get: {
        summary: 'Batch status: per-task states, counts and overall progress',
        parameters: [batchIdParam],
        responses: {
          200: jsonResponse('Batch', BatchStatusResponseSchema),
          ...errorResponses({ 400: 'Malformed id', 404: 'Unknown batch' }),
        },
      },
    },
    '/api/v1/batch/download/{batch_task_id}': {
      get: {
        summary: 'ZIP of the finished results (streamed from storage) with manifest.json listing failures',
        parameters: [
          batchIdParam,
          {
            name: 'partial',
            in: 'query',
            required: false,
            description: 'true: zip what has finished so far instead of answering 409 while tasks run',
            schema: { type: 'string', enum: ['true', 'false'] },
          },
        ],
        responses: {
          200: {
            description: 'The archive',
            content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
          },
          ...errorResponses({ 400: 'Malformed id', 404: 'Unknown batch', 409: 'Tasks still running' }),
        },
      },
    },
  };
}
