import { WorkerAnnouncementSchema } from '@photoenhance/contracts';
import { errorResponses, jsonContent, jsonResponse, type PathItems } from '../docs/openapi-helpers.ts';
import { ModelListResponseSchema, WorkerAckSchema, WorkerListResponseSchema } from './schemas.ts';

const SIGNED =
  'Signed with HMAC-SHA256 over `{timestamp}.{raw body}` using WORKER_REGISTRATION_SECRET: headers ' +
  '`X-PhotoEnhance-Timestamp` (Unix seconds, ±5 min) and `X-PhotoEnhance-Signature: v1=<hex>`. Replays are refused.';

function signedEvent(event: 'register' | 'heartbeat' | 'deregister', summary: string): Record<string, unknown> {
  return {
    summary,
    description: `${SIGNED} The body's \`event\` must be \`${event}\`.`,
    tags: ['workers'],
    security: [{ workerSignature: [], workerTimestamp: [] }],
    requestBody: { required: true, content: jsonContent(WorkerAnnouncementSchema, 'input') },
    responses: {
      200: jsonResponse('Accepted', WorkerAckSchema),
      ...errorResponses({
        400: 'Body is not a valid announcement, or the event does not match the route',
        401: 'Signature missing, wrong, outside the ±5 min window, or replayed (nothing stored)',
        403: 'Registration disabled (no WORKER_REGISTRATION_SECRET configured)',
        413: 'Body over 64 KiB',
      }),
    },
  };
}

export function workerPaths(): PathItems {
  return {
    '/api/v1/workers/register': {
      post: signedEvent(
        'register',
        'A worker announces itself after warm-up (id, URL, providers/GPU, models, capacity)',
      ),
    },
    '/api/v1/workers/heartbeat': {
      post: signedEvent('heartbeat', 'Periodic heartbeat (every 30 s) with the current state'),
    },
    '/api/v1/workers/deregister': {
      post: signedEvent('deregister', 'Clean shutdown: the worker is listed as stale from now on'),
    },
    '/api/v1/models': {
      get: {
        summary: 'Models the alive workers can run (id, task, ready = installed on some worker, default)',
        description:
          "Merged from the workers' registration records: only workers that registered (REGISTER_URL) and sent a heartbeat recently count. Face restorers appear as ready only where a worker has one installed.",
        responses: { 200: jsonResponse('Models', ModelListResponseSchema) },
      },
    },
    '/api/v1/workers': {
      get: {
        summary: 'Registered workers, alive or stale (admin)',
        tags: ['workers'],
        security: [{ adminKey: [] }],
        responses: {
          200: jsonResponse('Workers', WorkerListResponseSchema),
          ...errorResponses({
            401: 'Admin key missing or wrong',
            403: 'Client keys are configured but no ADMIN_API_KEY',
          }),
        },
      },
    },
  };
}
