import {
  DIRECT_UPLOAD_CONTENT_TYPES,
  DirectUploadCreatedSchema,
  DirectUploadRequestSchema,
  EnhanceAcceptedSchema,
  EnhanceFormSchema,
} from '@photoenhance/contracts';
import {
  errorResponses,
  jsonContent,
  jsonResponse,
  type PathItems,
  schema,
  uuidPathParam,
} from '../docs/openapi-helpers.ts';

/** OpenAPI path items of the direct-upload routes. */
export function uploadPaths(options: { maxDirectUploadBytes: number }): PathItems {
  const request = schema(DirectUploadRequestSchema, 'input') as { properties: Record<string, unknown> };
  // The input side of a trimmed, lower-cased enum is a plain string; name the accepted values.
  request.properties.content_type = { type: 'string', enum: [...DIRECT_UPLOAD_CONTENT_TYPES] };
  request.properties.size = { type: 'integer', minimum: 1, maximum: options.maxDirectUploadBytes };
  return {
    '/api/v1/uploads': {
      post: {
        summary: 'Direct upload for big files: a presigned PUT URL (content type and size signed, short expiry)',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: request } },
        },
        responses: {
          201: jsonResponse(
            `Upload URL issued (files up to ${options.maxDirectUploadBytes} bytes)`,
            DirectUploadCreatedSchema,
          ),
          ...errorResponses({ 400: 'Invalid body or content type', 413: 'File over the direct-upload limit' }),
        },
      },
    },
    '/api/v1/tasks/{task_id}/start': {
      post: {
        summary: 'Start a directly uploaded task: the stored file is verified (size, format, pixels), then queued',
        parameters: [uuidPathParam('task_id')],
        requestBody: {
          required: false,
          content: jsonContent(EnhanceFormSchema, 'input'),
        },
        responses: {
          202: jsonResponse('Queued', EnhanceAcceptedSchema),
          ...errorResponses({
            400: 'Invalid option, or the stored size differs from the declared one',
            404: 'No pending upload for this task',
            409: 'Not uploaded yet, or already started',
            413: 'Stored file over the limit',
            415: 'The stored file is not a supported image',
            422: 'Empty, corrupt, too many pixels or output too large',
          }),
        },
      },
    },
  };
}
