/**
 * Video test support: what the API does on a video upload (probe, plan, store, queued record, one job per
 * segment), clips made with the bundled ffmpeg, and workers running the real engine on frames.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import {
  type EnhanceOptionsInput,
  EnhanceOptionsSchema,
  newId,
  planSegments,
  type VideoOutputOptions,
  VideoOutputOptionsSchema,
} from '@photoenhance/contracts';
import { type Backend, createTaskRepository, keys } from '@photoenhance/core';
import { createEngine } from '@photoenhance/engine';
import { probeVideo } from '@photoenhance/video';
import { makeClip } from '@photoenhance/video/test-clips';
import type { WorkerTimings } from '../src/config.ts';
import type { JobOutcome } from '../src/metrics.ts';
import { createWorker } from '../src/worker.ts';
import { silentLogger, testTimings } from './support.ts';

/** 64×48 testsrc at 24 fps with a 440 Hz tone (AAC), `seconds` long. */
export function makeTestClip(path: string, seconds = 2): Promise<string> {
  return makeClip(dirname(path), 'no-faststart', { seconds, file: basename(path) });
}

export async function submitVideo(
  backend: Pick<Backend, 'storage' | 'queue'>,
  clipPath: string,
  options: {
    enhance?: EnhanceOptionsInput;
    output?: Partial<VideoOutputOptions>;
    segmentFrames: number;
    smoothFaces?: boolean;
  },
): Promise<string> {
  const taskId = newId();
  const probe = await probeVideo(clipPath);
  const bytes = await readFile(clipPath);
  const inputKey = keys.input(taskId, 'clip.mp4');
  await backend.storage.put(inputKey, bytes, { contentType: 'video/mp4' });
  const segments = planSegments(probe.frameCount, options.segmentFrames);
  const now = new Date().toISOString();
  await createTaskRepository(backend.storage).write({
    taskId,
    status: 'queued',
    options: EnhanceOptionsSchema.parse(options.enhance ?? {}),
    input: {
      key: inputKey,
      filename: 'clip.mp4',
      contentType: 'video/mp4',
      bytes: bytes.length,
      width: probe.width,
      height: probe.height,
      format: 'mp4',
    },
    video: {
      probe,
      output: VideoOutputOptionsSchema.parse(options.output ?? {}),
      smoothFaces: options.smoothFaces ?? true,
      segments,
      framesTotal: probe.frameCount,
    },
    createdAt: now,
    updatedAt: now,
  });
  for (const segment of segments) {
    await backend.queue.send({ version: 1, kind: 'video-segment', taskId, inputKey, segment });
  }
  return taskId;
}

/** A worker with the real engine (in-process, one ORT thread), recording outcomes. */
export function startVideoWorker(backend: Pick<Backend, 'storage' | 'queue'>, timing: Partial<WorkerTimings> = {}) {
  const engine = createEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: 1 } });
  const outcomes: JobOutcome[] = [];
  const worker = createWorker({
    storage: backend.storage,
    queue: backend.queue,
    engine,
    config: testTimings({ visibilityTimeoutSeconds: 10, heartbeatMs: 2000, ...timing }),
    logger: silentLogger,
    onJobDone: (o) => outcomes.push(o),
  });
  return { worker, engine, outcomes, started: worker.start() };
}
