/**
 * Several API instances behind a load balancer share nothing but storage and the queue: a task submitted
 * through instance A is followed live (SSE), polled and downloaded through instance B, by a client that
 * alternates between them like a round-robin balancer. No change notices cross instances here (separate
 * processes in a deployment): B's task watch hub reads storage, once per poll for all its viewers.
 */
import { createStandinEngine } from '@photoenhance/gpu-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadResult, getStatus, uploadImage } from '../harness/client.ts';
import { testPhoto } from '../harness/images.ts';
import { readSse } from '../harness/sse.ts';
import { type Stack, startStack } from '../harness/stack.ts';

let stack: Stack;
let instanceB: string;
beforeAll(async () => {
  stack = await startStack({ apiEnv: { SSE_POLL_MS: '50' } });
  instanceB = await stack.addApi();
});
afterAll(async () => {
  await stack?.stop();
});

describe('two API instances, one backend', () => {
  it('SSE viewers on instance B see the progress of a task submitted through instance A; B answers status and download', async () => {
    // A 2 s stand-in job: progress written every 100 ms (harness timings) while viewers watch.
    await stack.startWorker({ engine: createStandinEngine(2000) });
    const photo = await testPhoto(16, 12);
    const upload = await uploadImage(stack.apiUrl, photo, { scale: '1' }, 'multi.png');
    expect(upload.status).toBe(200);
    const taskId = upload.body.task_id ?? '';
    const viewers = await Promise.all(
      [0, 1, 2].map(() =>
        fetch(`${instanceB}/api/v1/tasks/${taskId}/events`, { headers: { accept: 'text/event-stream' } }),
      ),
    );
    const streams = await Promise.all(
      viewers.map((res) => readSse(res, { until: (e) => e.event === 'completed', timeoutMs: 30_000 })),
    );
    for (const { events } of streams) {
      const progress = events.filter((e) => e.event === 'progress').map((e) => JSON.parse(e.data));
      expect(progress.some((p) => p.status === 'processing' && p.stage === 'upscale')).toBe(true);
      expect(events.at(-1)?.event).toBe('completed');
    }
    // Round-robin: status from A then B agree, the download through B is the stored result.
    const [a, b] = [await getStatus(stack.apiUrl, taskId), await getStatus(instanceB, taskId)];
    expect(a.status).toBe('completed');
    expect(b).toEqual(a);
    const { blob } = await downloadResult(instanceB, b.result?.download_url ?? '');
    expect(Buffer.from(await blob.arrayBuffer()).equals(photo)).toBe(true);
  });
});
