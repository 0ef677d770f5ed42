import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type OwnerId, parseId, StreamTokenSchema, TaskProgressEventSchema } from '@photoenhance/contracts';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { StreamScope } from '../../auth/stream-tokens.ts';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import {
  batchIdParams,
  bodyResponse,
  createRouter,
  errorResponses,
  jsonResponse,
  jsonSchema,
  type ResponseConfig,
  taskIdParams,
} from '../../http/openapi.ts';
import { clientAddress } from '../../http/rate-limit.ts';
import { createStreamSlots } from '../../http/stream-slots.ts';
import type { TaskWatch } from '../../progress/task-watch-hub.ts';
import { readBatchRecord } from '../batch/batch-state.ts';
import { batchSnapshotFromWatch, taskSnapshotFromWatch } from './snapshots.ts';
import { parseLastEventId, pollToSse, type Snapshot } from './sse-poller.ts';

/** A client reconnects this long after a dropped stream (sent as the SSE retry field). */
const RETRY_MS = 2000;
/** Long streams are ended now and then so load balancers rebalance; Last-Event-ID makes that lossless. */
const MAX_STREAM_MS = 30 * 60 * 1000;

/** Described only: the key middleware reads it (auth/stream-tokens.ts). */
const streamTokenParam = {
  name: 'token',
  in: 'query',
  required: false,
  description:
    'A stream token from POST …/stream-token: opens this one stream until it expires, for EventSource (no headers). `api_key=<key>` is the legacy form, still accepted.',
  schema: { type: 'string' },
} as const;

/** Described only: parseLastEventId reads it, and a malformed one counts as absent (a fresh stream). */
const lastEventId = {
  name: 'Last-Event-ID',
  in: 'header',
  required: false,
  description: 'Id of the last event received: only newer states are sent (EventSource sends it on reconnect)',
  schema: { type: 'string' },
} as const;

function sseResponses(what: string): Record<number, ResponseConfig> {
  return {
    200: bodyResponse(
      `text/event-stream: \`progress\` events while ${what} runs, then one \`completed\`, \`failed\` or \`cancelled\` event (same body as the status route) and the stream closes; \`: keep-alive\` comments in between; ids grow monotonically`,
      'text/event-stream',
      { 'x-progress-event-data': jsonSchema(TaskProgressEventSchema, 'output') },
    ),
    204: { description: 'Reconnect after the final event: nothing more will come (EventSource stops)' },
  };
}

const taskEventsRoute = createRoute({
  method: 'get',
  path: '/api/v1/tasks/{task_id}/events',
  summary: 'Live task progress (Server-Sent Events)',
  request: { params: taskIdParams },
  parameters: [lastEventId, streamTokenParam],
  responses: {
    ...sseResponses('the task'),
    ...errorResponses({ 400: 'Malformed id', 401: 'Missing key, or an invalid or expired token', 404: 'Unknown task' }),
  },
});
const batchEventsRoute = createRoute({
  method: 'get',
  path: '/api/v1/batch/events/{batch_task_id}',
  summary: 'Live batch progress (Server-Sent Events; event data is the batch status body)',
  request: { params: batchIdParams },
  parameters: [lastEventId, streamTokenParam],
  responses: {
    ...sseResponses('the batch'),
    ...errorResponses({
      400: 'Malformed id',
      401: 'Missing key, or an invalid or expired token',
      404: 'Unknown batch',
    }),
  },
});

/**
 * Stream tokens come from their own POST route rather than in the status and submit answers: only a browser
 * opening an EventSource needs one, status bodies stay PhotoEnhanceAI's shape (and are polled, cached and
 * logged by clients, where a credential does not belong), and a POST with the key header is the one place a
 * token is made — after the same owner and retention checks as every other read of the id.
 */
const taskStreamTokenRoute = createRoute({
  method: 'post',
  path: '/api/v1/tasks/{task_id}/stream-token',
  summary:
    "A short-lived token that opens this task's event stream (?token=) for EventSource, which cannot send headers",
  request: { params: taskIdParams },
  responses: {
    200: jsonResponse('The token and the event-stream URL that carries it', StreamTokenSchema),
    ...errorResponses({ 400: 'Malformed id', 404: 'Unknown task', 410: 'Expired' }),
  },
});
const batchStreamTokenRoute = createRoute({
  method: 'post',
  path: '/api/v1/batch/stream-token/{batch_task_id}',
  summary: "A short-lived token that opens this batch's event stream (?token=) for EventSource",
  request: { params: batchIdParams },
  responses: {
    200: jsonResponse('The token and the event-stream URL that carries it', StreamTokenSchema),
    ...errorResponses({ 400: 'Malformed id', 404: 'Unknown batch' }),
  },
});

/**
 * GET /api/v1/tasks/{task_id}/events and GET /api/v1/batch/events/{batch_task_id}: Server-Sent Events from the
 * stored state, so any API instance can serve any client. The state comes from the instance's task watch hub:
 * one read loop per task however many streams watch it, woken by change notices (docs/design.md §7).
 */
export function eventRoutes(deps: RouteDeps): OpenAPIHono<AppEnv> {
  const { config, access, taskWatch, streamTokens } = deps;
  const base = (config.PUBLIC_BASE_URL ?? '').replace(/\/+$/, '');
  /** Signed for the record's owner: an operator's token opens the stream as its owner would. */
  const tokenAnswer = (scope: StreamScope, owner: OwnerId | undefined, eventsPath: string) => {
    const { token, expiresAt } = streamTokens.issue(scope, owner);
    return {
      token,
      expires_at: expiresAt.toISOString(),
      events_url: `${base}${eventsPath}?token=${encodeURIComponent(token)}`,
    };
  };
  const app = createRouter();
  const slots = createStreamSlots(config.MAX_EVENT_STREAMS_PER_KEY, config.MAX_EVENT_STREAMS);

  /** Streams `read` (memory: the watch's state) until a final state; the watch is closed whatever happens. */
  const serve = async (c: Context<AppEnv>, watch: TaskWatch, read: () => Snapshot): Promise<Response> => {
    let handedOver = false;
    try {
      const lastEventId = parseLastEventId(c.req.header('last-event-id'));
      // Read once before answering: an unknown id is a plain 404, not an event stream.
      await watch.ready();
      const first = read();
      if (first.terminal && lastEventId !== undefined && lastEventId >= first.id) {
        // The client already has the final event; 204 tells EventSource to stop reconnecting.
        return c.body(null, 204);
      }
      const log = c.get('logger');
      // Per key (the owner id; the client address when anonymous) and per instance; see stream-slots.ts.
      const release = slots.acquire(c.get('tenant').owner ?? `ip:${clientAddress(c)}`);
      c.header('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
      handedOver = true;
      return streamSSE(
        c,
        async (stream) => {
          deps.metrics?.sseStreams.inc();
          stream.onAbort(() => {
            watch.close();
            release();
          });
          try {
            await pollToSse(stream, {
              read: async () => read(),
              first,
              pollMs: config.SSE_POLL_MS,
              keepAliveMs: config.SSE_KEEPALIVE_MS,
              lastEventId,
              retryMs: RETRY_MS,
              maxDurationMs: MAX_STREAM_MS,
              logger: log,
              wait: (ms) => watch.next(ms),
            });
          } finally {
            watch.close();
            release();
            deps.metrics?.sseStreams.dec();
          }
        },
        async (err) => log.error({ err }, 'event stream failed'),
      );
    } finally {
      if (!handedOver) watch.close();
    }
  };

  // Owner and retention are checked on every state the watch holds (no read of its own, so viewers still share
  // one read loop): another tenant's id is a 404 like an unknown one, an expired task a 410 that ends the stream.
  app.openapi(taskEventsRoute, async (c) => {
    const taskId = parseId(c.req.param('task_id'));
    const tenant = c.get('tenant');
    const watch = taskWatch.watch([taskId]);
    return serve(c, watch, () => {
      const state = watch.state(taskId);
      if (state && 'record' in state) access.check(tenant, state.record, taskId);
      return taskSnapshotFromWatch(watch, taskId, config.PUBLIC_BASE_URL, access.expiresAt);
    });
  });
  app.openapi(batchEventsRoute, async (c) => {
    // The batch record never changes after it is written: read once per stream.
    const record = await readBatchRecord(access.batchSource(c.get('tenant')).batches, c.req.param('batch_task_id'));
    const watch = taskWatch.watch(record.taskIds);
    return serve(c, watch, () => batchSnapshotFromWatch(record, watch, config.PUBLIC_BASE_URL));
  });
  app.openapi(taskStreamTokenRoute, async (c) => {
    const record = await access.task(c.get('tenant'), c.req.param('task_id'));
    return c.json(
      tokenAnswer({ kind: 'task', id: record.taskId }, record.owner, `/api/v1/tasks/${record.taskId}/events`),
      200,
    );
  });
  app.openapi(batchStreamTokenRoute, async (c) => {
    const record = await readBatchRecord(access.batchSource(c.get('tenant')).batches, c.req.param('batch_task_id'));
    return c.json(
      tokenAnswer({ kind: 'batch', id: record.batchId }, record.owner, `/api/v1/batch/events/${record.batchId}`),
      200,
    );
  });
  return app;
}
