import {
  EnhanceAcceptedSchema,
  EnhanceFormSchema,
  TaskDeletedSchema,
  VideoFormSchema,
  VideoStatusResponseSchema,
} from '@photoenhance/contracts';
import {
  errorResponses,
  jsonResponse,
  multipartBody,
  type PathItems,
  schema,
  uuidPathParam,
} from '../docs/openapi-helpers.ts';

/** OpenAPI path items of the video routes. */
export function videoPaths(options: { maxVideoBytes: number }): PathItems {
  const photo = schema(EnhanceFormSchema, 'input') as { properties: Record<string, unknown> };
  const video = schema(VideoFormSchema, 'input') as { properties: Record<string, unknown> };
  const { output_format: _photoOnly, output_quality: _photoOnly2, ...frameFields } = photo.properties;
  return {
    '/api/v1/videos': {
      post: {
        summary:
          'Queue a video: probed (no decoding), split into segments any worker takes, joined with the original sound',
        requestBody: multipartBody(
          'file',
          {
            type: 'string',
            format: 'binary',
            description: `MP4, MOV, MKV or WebM, at most ${options.maxVideoBytes} bytes`,
          },
          { ...frameFields, ...video.properties },
        ),
        responses: {
          202: jsonResponse('Queued; status_url is GET /api/v1/videos/{task_id}', EnhanceAcceptedSchema),
          ...errorResponses({
            400: 'Missing file or invalid option (INVALID_INPUT, INVALID_OPTIONS)',
            413: 'Upload over VIDEO_MAX_UPLOAD_BYTES (FILE_TOO_LARGE)',
            415: 'Not a video, HDR, or frames without timestamps (UNSUPPORTED_FORMAT)',
            422: 'Cut short or damaged (CORRUPT_VIDEO), too long (VIDEO_TOO_LONG), too many pixels, output too large',
            503: 'Storage or queue unavailable (retry)',
          }),
        },
      },
    },
    '/api/v1/videos/{task_id}': {
      get: {
        summary: 'Video task status: frames done / total, segments, ETA, result or error',
        parameters: [uuidPathParam('task_id')],
        responses: {
          200: jsonResponse('Video task', VideoStatusResponseSchema),
          ...errorResponses({ 400: 'Malformed id', 404: 'Unknown video task' }),
        },
      },
      delete: {
        summary: 'Cancel a running video or delete a finished one (the clip, segments and result)',
        parameters: [uuidPathParam('task_id')],
        responses: {
          200: jsonResponse('Cancelled or deleted', TaskDeletedSchema),
          ...errorResponses({ 400: 'Malformed id', 404: 'Unknown video task' }),
        },
      },
    },
  };
}
