/**
 * Batches end to end with real workers: one upload of many files, each its own job, live batch events, and
 * the ZIP — streamed from storage — holding exactly the bytes of the single downloads plus a manifest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadResult, getStatus } from '../harness/client.ts';
import { createTestEngine, FAST_FORM } from '../harness/engine.ts';
import { pngWithCorruptPixels, testPhoto } from '../harness/images.ts';
import { readSse, type SseMessage } from '../harness/sse.ts';
import { type Stack, startStack } from '../harness/stack.ts';
import { readZip } from '../harness/zip.ts';

let stack: Stack;
const engine = createTestEngine();
beforeAll(async () => {
  stack = await startStack({ maxReceiveCount: 2, apiEnv: { SSE_POLL_MS: '50', BATCH_MAX_FILES: '6' } });
});
afterAll(async () => {
  await stack?.stop();
  await engine.close();
});

interface BatchAccepted {
  batch_id: string;
  tasks: Array<{ task_id: string; filename: string }>;
  rejected: Array<{ index: number; filename: string; error: { code: string } }>;
  events_url: string;
  download_url: string;
}

async function postBatch(files: Array<[Buffer, string]>, fields: Record<string, string>): Promise<Response> {
  const form = new FormData();
  for (const [bytes, name] of files)
    form.append('files', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), name);
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return fetch(`${stack.apiUrl}/api/v1/enhance/batch`, { method: 'POST', body: form });
}

describe('batch: upload → workers → events → ZIP', () => {
  it('runs every file as its own job and zips results byte-equal to the single downloads, with a manifest', async () => {
    const res = await postBatch(
      [
        [await testPhoto(24, 16), 'photo.png'],
        [await testPhoto(16, 24), 'photo.png'], // same name: de-duplicated in the archive
        [await pngWithCorruptPixels(16, 16), 'broken.png'], // accepted at upload, fails in the worker
        [Buffer.from('plain text'), 'notes.txt'], // refused at upload
        [await testPhoto(20, 20), 'Photo.PNG'], // same name ignoring case
      ],
      { ...FAST_FORM, scale: '2' },
    );
    expect(res.status).toBe(200);
    const batch = (await res.json()) as BatchAccepted;
    expect(batch.tasks).toHaveLength(4);
    expect(batch.rejected).toMatchObject([{ index: 3, filename: 'notes.txt', error: { code: 'UNSUPPORTED_FORMAT' } }]);

    const events = await fetch(`${stack.apiUrl}${batch.events_url}`);
    expect(events.status).toBe(200);
    const reading = readSse(events, { timeoutMs: 120_000 });
    // Two workers share the queue: every task is its own message.
    const workers = await Promise.all([stack.startWorker({ engine }), stack.startWorker({ engine })]);
    const { events: seen, ended } = await reading;
    await Promise.all(workers.map((w) => w.stop()));

    expect(ended).toBe(true);
    expect(workers.flatMap((w) => w.outcomes).sort()).toEqual(['completed', 'completed', 'completed', 'failed']);
    const last = seen.at(-1) as SseMessage;
    expect(last.event).toBe('completed');
    const final = JSON.parse(last.data);
    expect(final).toMatchObject({
      status: 'partial_completed',
      progress: 1,
      percent: 100,
      counts: { completed: 3, failed: 1 },
    });
    const progress = seen.map((e) => (JSON.parse(e.data) as { progress: number }).progress);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1] as number);
    const ids = seen.map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1] as number);

    // A reconnect after the final event gets 204 (EventSource stops); one from an older id gets only the final state.
    const again = (lastEventId: string) =>
      fetch(`${stack.apiUrl}${batch.events_url}`, { headers: { 'last-event-id': lastEventId } });
    expect((await again(last.id as string)).status).toBe(204);
    const resumed = await readSse(await again(seen[0]?.id as string), { timeoutMs: 10_000 });
    expect(resumed.events.map((e) => [e.event, e.id])).toEqual([['completed', last.id]]);

    const status = (await (
      await fetch(`${stack.apiUrl}/api/v1/batch/status/${batch.batch_id}`)
    ).json()) as typeof final;
    expect(status).toEqual(final);

    const zipRes = await fetch(`${stack.apiUrl}${batch.download_url}`);
    expect(zipRes.status).toBe(200);
    expect(zipRes.headers.get('content-type')).toBe('application/zip');
    const entries = readZip(Buffer.from(await zipRes.arrayBuffer()));
    expect(entries.map((e) => e.name)).toEqual([
      'photo_enhanced.png',
      'photo_enhanced-2.png',
      'Photo_enhanced-3.png',
      'manifest.json',
    ]);
    // Images stored as they are (method 0), each byte-equal to the task's own download.
    const completed = batch.tasks.filter((t) => t.filename !== 'broken.png');
    for (const [i, task] of completed.entries()) {
      const single = await getStatus(stack.apiUrl, task.task_id);
      expect(single.status).toBe('completed');
      const { blob } = await downloadResult(stack.apiUrl, single.result?.download_url ?? '');
      const entry = entries[i];
      expect(entry?.method).toBe(0);
      expect(entry?.data.equals(Buffer.from(await blob.arrayBuffer()))).toBe(true);
    }
    const manifest = JSON.parse(entries.at(-1)?.data.toString('utf8') ?? '{}');
    expect(manifest.batch_id).toBe(batch.batch_id);
    expect(manifest.files.map((f: { file: string; original: string }) => [f.original, f.file])).toEqual([
      ['photo.png', 'photo_enhanced.png'],
      ['photo.png', 'photo_enhanced-2.png'],
      ['Photo.PNG', 'Photo_enhanced-3.png'],
    ]);
    const broken = batch.tasks.find((t) => t.filename === 'broken.png');
    expect(manifest.failures).toEqual([
      {
        task_id: broken?.task_id,
        original: 'broken.png',
        status: 'failed',
        error: { code: 'CORRUPT_IMAGE', message: expect.any(String) },
      },
      { original: 'notes.txt', status: 'rejected', error: { code: 'UNSUPPORTED_FORMAT', message: expect.any(String) } },
    ]);
  });
});
