/**
 * A video's progress over Server-Sent Events (the task events route), observed while a worker with the real
 * engine runs its segments: frames done / total grow in the progress events, then one completed event.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskProgressEventSchema } from '@photoenhance/contracts';
import { makeClip } from '@photoenhance/video/test-clips';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEngine, FAST_FORM } from '../harness/engine.ts';
import { readSse } from '../harness/sse.ts';
import { type Stack, startStack } from '../harness/stack.ts';

let stack: Stack;
let dir: string;
const engine = createTestEngine();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'e2e-video-events-'));
  // 6 segments of 8 frames, the record polled often so each segment's progress write is seen.
  stack = await startStack({ apiEnv: { SSE_POLL_MS: '25', VIDEO_SEGMENT_FRAMES: '8' } });
});
afterAll(async () => {
  await stack?.stop();
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('GET /api/v1/tasks/{id}/events for a video', () => {
  it('streams frames done / total growing to the clip frame count, then completed', async () => {
    const clip = await makeClip(dir, 'silent', { size: '48x32', seconds: 2 });
    const form = new FormData();
    form.append('file', new Blob([await readFile(clip)], { type: 'video/mp4' }), 'clip.mp4');
    for (const [k, v] of Object.entries({ ...FAST_FORM, scale: '2', video_preset: 'ultrafast' })) form.append(k, v);
    const posted = await fetch(`${stack.apiUrl}/api/v1/videos`, { method: 'POST', body: form });
    expect(posted.status).toBe(202);
    const { task_id: taskId } = (await posted.json()) as { task_id: string };

    const res = await fetch(`${stack.apiUrl}/api/v1/tasks/${taskId}/events`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(res.status).toBe(200);
    const reading = readSse(res, { timeoutMs: 120_000 });
    const worker = await stack.startWorker({ engine });
    const { events, ended } = await reading;
    await worker.stop();

    expect(ended).toBe(true);
    const progress = events
      .filter((e) => e.event === 'progress')
      .map((e) => TaskProgressEventSchema.parse(JSON.parse(e.data)));
    expect(progress[0]).toMatchObject({ task_id: taskId, status: 'queued', frames_done: 0, frames_total: 48 });
    const frames = progress.map((p) => p.frames_done ?? -1);
    // Never backwards, several steps on the way (a write per segment), and every event names the total.
    expect(frames).toEqual([...frames].sort((a, b) => a - b));
    expect(new Set(frames.filter((f) => f > 0 && f < 48)).size).toBeGreaterThanOrEqual(2);
    expect(progress.every((p) => p.frames_total === 48)).toBe(true);
    expect(progress.some((p) => p.status === 'processing' && p.eta_seconds !== undefined)).toBe(true);
    expect(events.at(-1)?.event).toBe('completed');
    expect(JSON.parse(events.at(-1)?.data ?? '{}')).toMatchObject({ task_id: taskId, status: 'completed' });
  });
});
