import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { createSegmentRepository, createTaskRepository } from '@photoenhance/core';
import { ffmpegBinaries, probeVideo, runTool } from '@photoenhance/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestBackend, waitFor, waitForStatus } from './support.ts';
import { makeTestClip, startVideoWorker, submitVideo } from './video-support.ts';

const stack = useTestBackend();
let dir: string;
let clip: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'worker-video-'));
  clip = await makeTestClip(join(dir, 'clip.mp4'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function decodeAll(path: string): Promise<Buffer> {
  const { stdout } = await runTool(ffmpegBinaries().ffmpeg, [
    ...[
      '-v',
      'error',
      '-i',
      path,
      '-map',
      '0:v:0',
      '-vsync',
      'passthrough',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ],
  ]);
  return stdout;
}

async function packetDigest(path: string, stream: string): Promise<string[]> {
  const { stdout } = await runTool(ffmpegBinaries().ffmpeg, [
    '-v',
    'error',
    '-i',
    path,
    '-map',
    stream,
    '-c',
    'copy',
    '-f',
    'framemd5',
    'pipe:1',
  ]);
  return stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
  return sum === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255 * a.length) / sum);
}

async function download(storage: { getBuffer(key: string): Promise<Buffer> }, key: string, name: string) {
  const path = join(dir, name);
  await writeFile(path, await storage.getBuffer(key));
  return path;
}

// Frames through the real engine (Lanczos ×2, no model: the seams, not the models, are under test) at a
// near-lossless CRF, so what differs between the results is where segments start, not the encoder's losses.
const enhance = { scale: 2, backgroundUpsampler: false, face: { enabled: false } } as const;
const output = { crf: 4, preset: 'veryfast' } as const;

describe('video jobs', () => {
  it('7 segments on 2 workers give the frames, times and sound of 1 segment on 1 worker', async () => {
    const backend = await stack.connect();
    const a = startVideoWorker(backend);
    const b = startVideoWorker(backend);
    await Promise.all([a.started, b.started]);
    const many = await submitVideo(backend, clip, { enhance, output, segmentFrames: 7 });
    const done = await waitForStatus(backend.storage, many, ['completed', 'failed'], 120_000);
    expect(done.error).toBeUndefined();
    expect(done.status).toBe('completed');
    // Both workers took segments: the clip was shared out.
    expect(a.outcomes.filter((o) => o === 'completed').length).toBeGreaterThan(0);
    expect(b.outcomes.filter((o) => o === 'completed').length).toBeGreaterThan(0);
    await b.worker.stop();
    const one = await submitVideo(backend, clip, { enhance, output, segmentFrames: 1000 });
    const single = await waitForStatus(backend.storage, one, ['completed', 'failed'], 120_000);
    await a.worker.stop();
    await Promise.all([a.engine.close(), b.engine.close()]);
    expect(single.status).toBe('completed');

    expect(done.video).toMatchObject({ framesDone: 48, framesTotal: 48, segmentsDone: 7 });
    expect(done.result).toMatchObject({ format: 'mp4', width: 128, height: 96 });
    const manyPath = await download(backend.storage, done.result?.key ?? '', 'many.mp4');
    const onePath = await download(backend.storage, single.result?.key ?? '', 'one.mp4');
    const [input, manyProbe, oneProbe] = await Promise.all([
      probeVideo(clip),
      probeVideo(manyPath),
      probeVideo(onePath),
    ]);
    expect(manyProbe).toMatchObject({ width: 128, height: 96, frameCount: 48 });
    expect(manyProbe.frameTimes).toEqual(input.frameTimes);
    expect(oneProbe.frameTimes).toEqual(input.frameTimes);
    expect(psnr(await decodeAll(manyPath), await decodeAll(onePath))).toBeGreaterThanOrEqual(45);
    expect(await packetDigest(manyPath, '0:a:0')).toEqual(await packetDigest(clip, '0:a:0'));
    // Working objects are gone and nothing is left in the queue.
    expect(await createSegmentRepository(backend.storage).list(many)).toEqual([]);
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('acknowledges a redelivered segment and a late assemble job without running them again', async () => {
    const backend = await stack.connect();
    const w = startVideoWorker(backend);
    await w.started;
    const taskId = await submitVideo(backend, clip, { enhance, output, segmentFrames: 24 });
    const done = await waitForStatus(backend.storage, taskId, ['completed', 'failed'], 120_000);
    expect(done.status).toBe('completed');
    const plan = done.video?.segments ?? [];
    // The worker whose segment completed the set joined the clip itself: no assemble job went through the queue.
    await waitFor(async () => w.outcomes.length === plan.length, { timeoutMs: 30_000 });
    expect(w.outcomes).toEqual(plan.map(() => 'completed'));
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
    await backend.queue.send({
      version: 1,
      kind: 'video-segment',
      taskId,
      inputKey: done.input.key,
      segment: plan[0] as (typeof plan)[number],
    });
    // An assemble job (as workers before the inline assembly sent) still finds the task finished.
    await backend.queue.send({ version: 1, kind: 'video-assemble', taskId, inputKey: done.input.key });
    await waitFor(async () => w.outcomes.length === plan.length + 2, { timeoutMs: 30_000 });
    await w.worker.stop();
    await w.engine.close();
    expect(w.outcomes.slice(-2)).toEqual(['skipped', 'skipped']);
    expect(await createTaskRepository(backend.storage).read(taskId)).toEqual(done);
  });

  it('joins the clip on the redelivered last segment when the inline assembly failed', async () => {
    const backend = await stack.connect();
    // The first store of a result fails (a transient storage fault while the last segment's worker joins the
    // clip): the segment message is not acknowledged, its redelivery finds the set done and joins it again.
    let failed = 0;
    const storage = Object.assign(Object.create(backend.storage) as typeof backend.storage, {
      upload: (...args: Parameters<typeof backend.storage.upload>) => {
        if (args[0].startsWith('outputs/') && failed++ === 0) {
          return Promise.reject(new PhotoEnhanceError('STORAGE_ERROR', 'injected: result not stored'));
        }
        return backend.storage.upload(...args);
      },
    });
    const w = startVideoWorker({ storage, queue: backend.queue });
    await w.started;
    const taskId = await submitVideo(backend, clip, { enhance, output, segmentFrames: 24 });
    const done = await waitForStatus(backend.storage, taskId, ['completed', 'failed'], 120_000);
    await waitFor(async () => w.outcomes.length === 3, { timeoutMs: 30_000 });
    await w.worker.stop();
    await w.engine.close();
    expect(done.error).toBeUndefined();
    expect(done.status).toBe('completed');
    expect(failed).toBe(2);
    // Two segments, the second retried once: its redelivery (already done) ran the assembly.
    expect(w.outcomes).toEqual(['completed', 'retry', 'completed']);
    expect(done.result).toMatchObject({ format: 'mp4', width: 128, height: 96 });
    expect((await backend.storage.list(`outputs/${taskId}/`)).length).toBe(1);
    expect(await createSegmentRepository(backend.storage).list(taskId)).toEqual([]);
    expect(await backend.queue.depth()).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('runs the face path: detection on every frame, tracking warmed up on the frames before each segment', async () => {
    const backend = await stack.connect();
    const w = startVideoWorker(backend);
    await w.started;
    const taskId = await submitVideo(backend, clip, {
      enhance: { scale: 1, backgroundUpsampler: false, face: { enabled: true } },
      output,
      segmentFrames: 24,
    });
    const done = await waitForStatus(backend.storage, taskId, ['completed', 'failed'], 120_000);
    await w.worker.stop();
    await w.engine.close();
    expect(done.error).toBeUndefined();
    expect(done.result).toMatchObject({ width: 64, height: 48 });
    // Test card, no face: nothing detected, and the result says so as a photo's would.
    expect(done.result?.faces).toMatchObject({ detected: 0, restored: 0 });
    expect(done.result?.models).toContain('blazeface-back');
  });

  it('fails the video once, with the reason, when its input turns out damaged', async () => {
    const backend = await stack.connect();
    const w = startVideoWorker(backend);
    await w.started;
    const taskId = await submitVideo(backend, clip, { enhance, output, segmentFrames: 24 });
    // The stored input replaced by text after the (good) probe: every segment's decode fails.
    const record = await createTaskRepository(backend.storage).read(taskId);
    await backend.storage.put(record?.input.key ?? '', Buffer.from('not a video any more'));
    const failed = await waitForStatus(backend.storage, taskId, ['completed', 'failed'], 60_000);
    await w.worker.stop();
    await w.engine.close();
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('CORRUPT_VIDEO');
    // The worker's scratch path is not in what the client sees.
    expect(failed.error?.message).not.toMatch(/pe-segment-|\/tmp\//);
  });
});
