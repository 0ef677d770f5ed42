/**
 * Live progress over Server-Sent Events, observed during real (small) jobs run by a worker with the real
 * engine: per-tile progress, monotonically growing ids, one terminal event, Last-Event-ID on reconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelTask, getStatus, uploadImage } from '../harness/client.ts';
import { createTestEngine, FAST_FORM } from '../harness/engine.ts';
import { testPhoto } from '../harness/images.ts';
import { readSse, type SseMessage } from '../harness/sse.ts';
import { type Stack, startStack } from '../harness/stack.ts';

let stack: Stack;
const engine = createTestEngine();
beforeAll(async () => {
  // Poll the record often so every progress write of a sub-second job is seen; keep-alive short to observe it.
  stack = await startStack({ apiEnv: { SSE_POLL_MS: '25', SSE_KEEPALIVE_MS: '300' } });
});
afterAll(async () => {
  await stack?.stop();
  await engine.close();
});

const isTerminal = (e: SseMessage) => ['completed', 'failed', 'cancelled'].includes(e.event);

function openEvents(path: string, lastEventId?: string): Promise<Response> {
  return fetch(`${stack.apiUrl}${path}`, {
    headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
  });
}

describe('GET /api/v1/tasks/{id}/events', () => {
  it('streams per-tile progress of a real job, then completed, with growing ids, and closes', async () => {
    // 256×256 in 32 px tiles: 64 model runs, long enough (seconds, even on a fast machine) that the
    // worker's 100 ms progress writes land many times during the upscale stage.
    const upload = await uploadImage(
      stack.apiUrl,
      await testPhoto(256, 256),
      { ...FAST_FORM, tile_size: '32', scale: '2' },
      'tiles.png',
    );
    expect(upload.status).toBe(200);
    const taskId = upload.body.task_id as string;

    const res = await openEvents(`/api/v1/tasks/${taskId}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reading = readSse(res, { timeoutMs: 90_000 });
    const worker = await stack.startWorker({ engine });
    const { events, ended } = await reading;
    await worker.stop();

    expect(ended).toBe(true); // the server closed it after the terminal event
    expect(events[0]).toMatchObject({ event: 'progress', retry: 2000 });
    expect(JSON.parse(events[0]?.data ?? '{}')).toMatchObject({
      task_id: taskId,
      status: 'queued',
      progress: 0,
      percent: 0,
    });
    const last = events.at(-1) as SseMessage;
    expect(last.event).toBe('completed');
    expect(events.filter(isTerminal)).toHaveLength(1);
    const final = JSON.parse(last.data);
    expect(final).toMatchObject({ task_id: taskId, status: 'completed', progress: 1, percent: 100 });
    expect(final.result).toMatchObject({ width: 512, height: 512, download_url: `/api/v1/download/${taskId}` });

    const ids = events.map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1] as number);
    const progress = events
      .filter((e) => e.event === 'progress')
      .map((e) => JSON.parse(e.data) as { status: string; stage: string; progress: number });
    const running = progress.filter((p) => p.status === 'processing');
    const values = running.map((p) => p.progress);
    console.info(`[events] ${events.length} events; processing progress seen: ${values.join(', ')}`);
    // Moving during the job, not jumping 0 → 100: several distinct values, never going back.
    expect(new Set(values).size).toBeGreaterThanOrEqual(3);
    expect(running.filter((p) => p.stage === 'upscale').length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] as number);

    // Reconnecting with the id of the final event: nothing new, 204 so EventSource stops reconnecting.
    expect((await openEvents(`/api/v1/tasks/${taskId}/events`, last.id)).status).toBe(204);
    // Reconnecting from an earlier event: only newer states (here the final one), never a replay.
    const midId = events[1]?.id as string;
    const resumed = await readSse(await openEvents(`/api/v1/tasks/${taskId}/events`, midId), { timeoutMs: 10_000 });
    expect(resumed.events.map((e) => e.event)).toEqual(['completed']);
    expect(Number(resumed.events[0]?.id)).toBeGreaterThan(Number(midId));
  });

  it('sends keep-alive comments while nothing changes, and a cancelled event when the task is cancelled', async () => {
    const upload = await uploadImage(stack.apiUrl, await testPhoto(16, 16), { ...FAST_FORM });
    const taskId = upload.body.task_id as string;
    const res = await openEvents(`/api/v1/tasks/${taskId}/events`);
    const reading = readSse(res, { timeoutMs: 20_000, until: isTerminal });
    await new Promise((r) => setTimeout(r, 1000)); // no worker: the task stays queued
    expect((await cancelTask(stack.apiUrl, taskId)).status).toBe(200);
    const { events, comments } = await reading;
    expect(comments.filter((c) => c === 'keep-alive').length).toBeGreaterThanOrEqual(2);
    expect(events.map((e) => e.event)).toEqual(['progress', 'cancelled']);
    expect((await getStatus(stack.apiUrl, taskId)).status).toBe('cancelled');
  });

  it('answers unknown and malformed ids with a JSON error, not a stream', async () => {
    const unknown = await openEvents('/api/v1/tasks/6f1c2a8e-3b4d-4c5e-8f90-123456789abc/events');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect((await openEvents('/api/v1/tasks/nope/events')).status).toBe(400);
  });
});
