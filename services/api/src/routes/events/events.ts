import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { clientAddress } from '../../http/rate-limit.ts';
import { createStreamSlots } from '../../http/stream-slots.ts';
import { batchSnapshotReader, taskSnapshotReader } from './snapshots.ts';
import { parseLastEventId, pollToSse, type Snapshot } from './sse-poller.ts';

/** A client reconnects this long after a dropped stream (sent as the SSE retry field). */
const RETRY_MS = 2000;
/** Long streams are ended now and then so load balancers rebalance; Last-Event-ID makes that lossless. */
const MAX_STREAM_MS = 30 * 60 * 1000;

/**
 * GET /api/v1/tasks/{task_id}/events and GET /api/v1/batch/events/{batch_task_id}: Server-Sent Events from
 * polling the stored state (SSE_POLL_MS), so any API instance can serve any client.
 */
export function eventRoutes(deps: RouteDeps): Hono<AppEnv> {
  const { config, access } = deps;
  const app = new Hono<AppEnv>();
  const slots = createStreamSlots(config.MAX_EVENT_STREAMS_PER_KEY, config.MAX_EVENT_STREAMS);

  const serve = async (c: Context<AppEnv>, read: () => Promise<Snapshot>): Promise<Response> => {
    const lastEventId = parseLastEventId(c.req.header('last-event-id'));
    // Read once before answering: an unknown id is a plain 404, not an event stream.
    const first = await read();
    if (first.terminal && lastEventId !== undefined && lastEventId >= first.id) {
      // The client already has the final event; 204 tells EventSource to stop reconnecting.
      return c.body(null, 204);
    }
    const log = c.get('logger');
    // Per key (the owner id; the client address when anonymous) and per instance; see stream-slots.ts.
    const release = slots.acquire(c.get('tenant').owner ?? `ip:${clientAddress(c)}`);
    c.header('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
    return streamSSE(
      c,
      async (stream) => {
        deps.metrics?.sseStreams.inc();
        stream.onAbort(release);
        try {
          await pollToSse(stream, {
            read,
            first,
            pollMs: config.SSE_POLL_MS,
            keepAliveMs: config.SSE_KEEPALIVE_MS,
            lastEventId,
            retryMs: RETRY_MS,
            maxDurationMs: MAX_STREAM_MS,
            logger: log,
          });
        } finally {
          release();
          deps.metrics?.sseStreams.dec();
        }
      },
      async (err) => log.error({ err }, 'event stream failed'),
    );
  };

  // Through the shared status cache (access), many clients watching one task cost one storage read per poll;
  // every read is checked against the caller, so a stream ends (404/410) when the task expires.
  app.get('/api/v1/tasks/:task_id/events', (c) => {
    const tenant = c.get('tenant');
    const tasks = { readState: (taskId: string) => access.task(tenant, taskId) };
    return serve(c, taskSnapshotReader(tasks, c.req.param('task_id'), config.PUBLIC_BASE_URL, access.expiresAt));
  });
  app.get('/api/v1/batch/events/:batch_task_id', (c) =>
    serve(
      c,
      batchSnapshotReader(access.batchSource(c.get('tenant')), c.req.param('batch_task_id'), config.PUBLIC_BASE_URL),
    ),
  );
  return app;
}
