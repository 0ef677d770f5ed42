import {
  DownloadLinkSchema,
  EnhanceAcceptedSchema,
  EnhanceFormSchema,
  ErrorBodySchema,
  OUTPUT_FORMAT_FIELD_VALUES,
  PRECISIONS,
  SEED_QUALITY_LEVELS,
  TaskDeletedSchema,
  TaskStatusResponseSchema,
} from '@photoenhance/contracts';
import { batchPaths } from '../batch/openapi.ts';
import { eventPaths } from '../events/openapi.ts';
import { uploadPaths } from '../uploads/openapi.ts';
import { videoPaths } from '../videos/openapi.ts';
import { workerPaths } from '../workers/openapi.ts';
import {
  errorResponses,
  jsonResponse,
  multipartBody,
  type PathItems,
  schema,
  uuidPathParam,
} from './openapi-helpers.ts';

const taskIdParam = uuidPathParam('task_id', 'Task id (UUID v4) returned by POST /api/v1/enhance');

export interface OpenApiOptions {
  maxUploadBytes: number;
  /** API_KEYS configured: client routes declare bearer security and a 401 answer. */
  apiKeysRequired?: boolean;
  /** BATCH_MAX_FILES and DIRECT_UPLOAD_MAX_BYTES, shown in the batch and direct-upload docs. */
  batchMaxFiles?: number;
  maxDirectUploadBytes?: number;
  maxVideoBytes?: number;
}

/** Client routes take the API keys; worker routes have their own security (signatures, admin key). */
function isClientRoute(path: string): boolean {
  return path.startsWith('/api/v1/') && !/^\/api\/v1\/workers(\/|$)/.test(path);
}

/** Declares the API-key requirement on every client operation (any route module's, added later too). */
function applyClientSecurity(paths: PathItems): void {
  for (const [path, item] of Object.entries(paths)) {
    if (!isClientRoute(path)) continue;
    for (const operation of Object.values(item)) {
      operation.security ??= [{ apiKey: [] }, { apiKeyHeader: [] }];
      operation.responses ??= {};
      const responses = operation.responses as Record<string, unknown>;
      responses['401'] ??= errorResponses({ 401: 'API key missing or wrong' })['401'];
    }
  }
}

const fileParam = (description: string) => ({
  name: 'file',
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});

const SERVICE_PATHS: PathItems = {
  '/': {
    get: {
      summary: 'Service information (JSON), or the web app for a browser (Accept: text/html)',
      responses: {
        200: {
          description: 'Service info: endpoints and limits; the web app page when text/html is preferred',
          content: { 'application/json': { schema: { type: 'object' } }, 'text/html': { schema: { type: 'string' } } },
        },
      },
    },
  },
  '/app/{file}': {
    get: {
      summary: "The web app's script and style sheet (app.js, app.css)",
      parameters: [fileParam('app.js or app.css')],
      responses: { 200: { description: 'Asset' }, 404: { description: 'No such asset' } },
    },
  },
  '/docs/{file}': {
    get: {
      summary: 'Swagger UI assets (from the swagger-ui-dist package)',
      parameters: [fileParam('swagger-ui.css, swagger-ui-bundle.js or favicon-32x32.png')],
      responses: { 200: { description: 'Asset' }, 404: { description: 'No such asset' } },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus metrics (text exposition format)',
      responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  },
  '/openapi.json': {
    get: {
      summary: 'This OpenAPI 3.1 document',
      responses: {
        200: { description: 'OpenAPI document', content: { 'application/json': { schema: { type: 'object' } } } },
      },
    },
  },
  '/docs': {
    get: {
      summary: 'Swagger UI over this document, with "Try it out"',
      responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
  },
};

const SECURITY_SCHEMES = {
  apiKey: { type: 'http', scheme: 'bearer', description: 'One of API_KEYS (or ADMIN_API_KEY) as a bearer token' },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Same keys in a header' },
  adminKey: { type: 'http', scheme: 'bearer', description: 'ADMIN_API_KEY as a bearer token' },
  workerSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-PhotoEnhance-Signature',
    description: 'v1=<hex HMAC-SHA256 of `{timestamp}.{body}` with WORKER_REGISTRATION_SECRET>',
  },
  workerTimestamp: {
    type: 'apiKey',
    in: 'header',
    name: 'X-PhotoEnhance-Timestamp',
    description: 'Unix seconds; must be within ±5 minutes of the server clock',
  },
};

export function buildOpenApiDocument(options: OpenApiOptions): Record<string, unknown> {
  const form = schema(EnhanceFormSchema, 'input') as { properties: Record<string, Record<string, unknown>> };
  form.properties.quality_level = {
    type: 'string',
    enum: [...SEED_QUALITY_LEVELS],
    description: 'Seed levels; low = fast',
  };
  form.properties.precision = {
    type: 'string',
    enum: [...PRECISIONS],
    default: 'auto',
    description:
      'Upscaler precision. auto = int8 on CPU workers for models whose int8 variant passed the fidelity floor (≥ 40 dB whole image, ≥ 34 dB worst 64² patch against fp32), fp16 on GPU workers, else fp32. An explicit variant the model does not ship is refused (400 INVALID_OPTIONS). The variant used is listed in result.models as id@variant.',
  };
  form.properties.output_format = { type: 'string', enum: [...OUTPUT_FORMAT_FIELD_VALUES] };
  const document = {
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
          requestBody: multipartBody(
            'file',
            { type: 'string', format: 'binary', description: `Image, at most ${options.maxUploadBytes} bytes` },
            form.properties,
          ),
          responses: {
            202: jsonResponse('Queued', EnhanceAcceptedSchema),
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
            200: jsonResponse('Task', TaskStatusResponseSchema),
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
            200: jsonResponse(
              'JSON link (redirect=false) or the file itself when the API proxies downloads',
              DownloadLinkSchema,
            ),
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
            200: jsonResponse('Task', TaskStatusResponseSchema),
          },
        },
        delete: {
          summary: 'Cancel a running task or delete a finished one (and its images)',
          parameters: [taskIdParam],
          responses: {
            200: jsonResponse('Cancelled or deleted', TaskDeletedSchema),
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
    components: { schemas: { Error: schema(ErrorBodySchema, 'output') }, securitySchemes: SECURITY_SCHEMES },
  };
  Object.assign(
    document.paths,
    batchPaths({ maxFiles: options.batchMaxFiles ?? 20, maxUploadBytes: options.maxUploadBytes }),
    eventPaths(),
    uploadPaths({ maxDirectUploadBytes: options.maxDirectUploadBytes ?? options.maxUploadBytes }),
    videoPaths({ maxVideoBytes: options.maxVideoBytes ?? options.maxUploadBytes }),
  );
  Object.assign(document.paths, SERVICE_PATHS, workerPaths());
  if (options.apiKeysRequired) applyClientSecurity(document.paths as PathItems);
  return document;
}
