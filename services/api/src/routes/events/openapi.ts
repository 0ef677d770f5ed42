import { TaskProgressEventSchema } from '@photoenhance/contracts';
import { batchIdParam } from '../batch/openapi.ts';
import { errorResponses, type PathItems, schema, uuidPathParam } from '../docs/openapi-helpers.ts';

const lastEventId = {
  name: 'Last-Event-ID',
  in: 'header',
  required: false,
  description: 'Id of the last event received: only newer states are sent (EventSource sends it on reconnect)',
  schema: { type: 'string' },
};

function sseResponse(what: string): Record<string, unknown> {
  return {
    200: {
      description: `text/event-stream: \`progress\` events while ${what} runs, then one \`completed\`, \`failed\` or \`cancelled\` event (same body as the status route) and the stream closes; \`: keep-alive\` comments in between; ids grow monotonically`,
      content: {
        'text/event-stream': {
          schema: { type: 'string' },
          'x-progress-event-data': schema(TaskProgressEventSchema, 'output'),
        },
      },
    },
    204: { description: 'Reconnect after the final event: nothing more will come (EventSource stops)' },
  };
}

/** OpenAPI path items of the Server-Sent Events routes. */
export function eventPaths(): PathItems {
  return {
    '/api/v1/tasks/{task_id}/events': {
      get: {
        summary: 'Live task progress (Server-Sent Events)',
        parameters: [uuidPathParam('task_id'), lastEventId],
        responses: { ...sseResponse('the task'), ...errorResponses({ 400: 'Malformed id', 404: 'Unknown task' }) },
      },
    },
    '/api/v1/batch/events/{batch_task_id}': {
      get: {
        summary: 'Live batch progress (Server-Sent Events; event data is the batch status body)',
        parameters: [batchIdParam, lastEventId],
        responses: { ...sseResponse('the batch'), ...errorResponses({ 400: 'Malformed id', 404: 'Unknown batch' }) },
      },
    },
  };
}
