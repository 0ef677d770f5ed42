import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type FaceReport,
  isPhotoEnhanceError,
  isTerminalStatus,
  PhotoEnhanceError,
  type SegmentRecord,
  type TaskRecord,
  type VideoJobMessage,
  type VideoSegmentJob,
} from '@photoenhance/contracts';
import { createSegmentRepository, keys, type ReceivedJob, type SegmentRepository } from '@photoenhance/core';
import { createFaceSmoother, DETECTOR_MODEL, type FrameFaceDetector, TRACK_WARMUP_FRAMES } from '@photoenhance/engine';
import {
  assembleVideo,
  CONTAINER_MIME,
  type DecodedFrame,
  frameSeconds,
  processSegment,
  resultContainer,
} from '@photoenhance/video';
import type { WorkerTimings } from '../config.ts';
import { startLease } from '../lease.ts';
import type { JobOutcome } from '../metrics.ts';
import {
  JobAbort,
  type VideoWorkerStorage,
  type WorkerEngine,
  type WorkerLogger,
  type WorkerQueue,
  type WorkerTasks,
} from '../ports.ts';
import { settleJob } from '../settle-job.ts';

/**
 * Video jobs, the same at-least-once rules as photos (docs/design.md §4) with the unit of work a segment:
 *
 * - segment job: lease → the task must exist and not be finished or cancelled → the segment record is claimed
 *   with a fresh attemptId (the fence: a later delivery of the same segment takes it over, the older one stops
 *   at its next write) → decode the range, enhance each frame, encode → the segment object at its deterministic
 *   key → record `done` → if every segment is done, join the clip at once (below), still holding the message →
 *   acknowledge. A killed worker loses only its own segment; a redelivered segment that is already done only
 *   re-checks the set and joins it if the task is not finished (the fallback when the joining worker died).
 * - the assembly (inline, or an assemble job: still handled, the path before the inline one) claims the task
 *   record like a photo job (attemptId), joins the segments without re-encoding, copies the sound, stores the
 *   result, writes `completed` (fenced: only the latest claimer) and removes the segments.
 *
 * Two workers finishing the last two segments at once may both join the clip: the fence lets only the later
 * claim write `completed`, the other stops there and is redelivered to a finished task. Neither can miss it:
 * each lists the segments after its own record is written, so the later of the two sees both done.
 */
export interface VideoRunnerDeps {
  storage: VideoWorkerStorage;
  tasks: WorkerTasks;
  queue: WorkerQueue & { send(message: VideoJobMessage): Promise<string> };
  engine: WorkerEngine;
  logger: WorkerLogger;
  timings: WorkerTimings;
  now?: () => Date;
}

function frameDetector(engine: WorkerEngine): FrameFaceDetector {
  const detect = engine.detectFrameFaces?.bind(engine);
  if (!detect) throw new PhotoEnhanceError('MODEL_NOT_READY', 'This worker cannot detect faces on video frames');
  return { detectFrameFaces: detect };
}

/** Validity of a segment's input URL: ffmpeg keeps reading it while the segment's frames are enhanced. */
const SEGMENT_URL_SECONDS = 6 * 3600;

/** Share of the progress bar the segments take; joining and storing the result is the rest. */
const SEGMENTS_PROGRESS_SHARE = 95;

interface VideoRun {
  deps: VideoRunnerDeps;
  message: ReceivedJob;
  taskId: string;
  log: Record<string, unknown>;
  controller: AbortController;
  attemptId: string;
  now(): string;
  /** Milliseconds per step of this delivery (logged when it ends: where a segment's time goes). */
  spans: Record<string, number>;
  /** performance.now() when the delivery was received. */
  started: number;
}

/** Runs one step of the job, adding its wall time to the delivery's spans. */
async function timed<T>(run: VideoRun, name: string, step: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await step();
  } finally {
    run.spans[name] = Math.round(((run.spans[name] ?? 0) + performance.now() - t0) * 10) / 10;
  }
}

function abortRun(run: VideoRun, kind: ConstructorParameters<typeof JobAbort>[0]): never {
  if (!run.controller.signal.aborted) run.controller.abort(new JobAbort(kind));
  throw run.controller.signal.reason;
}

async function acknowledge(run: VideoRun): Promise<void> {
  await run.deps.queue.delete(run.message.receiptHandle).catch((err: unknown) => {
    run.deps.logger.warn({ ...run.log, err }, 'message not deleted; its next delivery finds the work done');
  });
}

/** The task record, waiting a bounded time for one the API has not written yet (as photo jobs do). */
async function awaitRecord(run: VideoRun): Promise<TaskRecord | null> {
  const { tasks, timings } = run.deps;
  const deadline = (run.message.sentAt?.getTime() ?? Date.now()) + timings.recordGraceMs;
  // The API writes the record right after the segment jobs: a short wait that doubles, not a fixed 200 ms
  // (the first segments of a clip are received within milliseconds of their message), capped at 50 ms: the
  // sends of a long clip take a few hundred ms, and a longer step would start the first segments that much late.
  // After a second (the API is slow or gone) 200 ms, so a record that never comes costs few reads.
  const waitStart = Date.now();
  for (let wait = 10; ; wait = Math.min(wait * 2, Date.now() - waitStart < 1000 ? 50 : 200)) {
    const record = await tasks.read(run.taskId);
    if (record || Date.now() >= deadline) return record;
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(wait, deadline - Date.now()))));
    if (run.controller.signal.aborted) throw run.controller.signal.reason;
  }
}

/** Downloads the input clip to a scratch file (ffmpeg seeks in it; the stream is never held whole in memory). */
async function downloadInput(run: VideoRun, key: string, dir: string): Promise<string> {
  const path = join(dir, 'input');
  const { body } = await run.deps.storage.getStream(key);
  await pipeline(body, createWriteStream(path), { signal: run.controller.signal });
  return path;
}

type Gate = { kind: 'run'; record: TaskRecord } | { kind: 'done'; outcome: JobOutcome };

/** Whether a delivery runs: a task that is unknown, cancelled or finished is only acknowledged. */
async function gate(run: VideoRun): Promise<Gate> {
  const record = await awaitRecord(run);
  if (!record?.video) {
    run.deps.logger.warn(run.log, 'video job for an unknown task; deleting the message');
    return { kind: 'done', outcome: 'invalid' };
  }
  if (await run.deps.tasks.readCancelMarker(run.taskId)) {
    if (!isTerminalStatus(record.status)) {
      await run.deps.tasks.write({
        ...record,
        status: 'cancelled',
        stage: 'cancelled',
        message: 'Task cancelled',
        updatedAt: run.now(),
        completedAt: run.now(),
      });
    }
    return { kind: 'done', outcome: 'cancelled' };
  }
  if (isTerminalStatus(record.status)) return { kind: 'done', outcome: 'skipped' };
  return { kind: 'run', record };
}

/** Fenced write of this delivery's segment record: dropped (the run superseded) when another delivery holds it. */
async function writeSegment(run: VideoRun, segments: SegmentRepository, patch: SegmentRecord): Promise<void> {
  const current = await segments.readClaim(run.taskId, patch.index);
  if (current && current.attemptId !== run.attemptId) {
    run.deps.logger.warn({ ...run.log, heldBy: current.attemptId }, 'segment taken over by a newer delivery');
    abortRun(run, 'lease-lost');
  }
  await segments.write(patch);
}

/**
 * Frame progress on the task record: the frames of the done segments (one LIST of the done keys, `done`) plus
 * this delivery's own frames of a segment still running. Segment workers write it concurrently, each its own
 * partial view, so a write never lowers frames_done (the later of two views wins) and is conditional on the
 * version read (If-Match where the store enforces it): a writer that lost the race skips, the next one
 * catches up, and none ever writes over the assemble job's state or a finished record.
 */
async function publishProgress(run: VideoRun, done: Set<number>, own: { index: number; frames: number }) {
  const { tasks } = run.deps;
  const found = await tasks.readVersioned(run.taskId);
  const record = found?.record;
  if (!record?.video || isTerminalStatus(record.status) || record.stage === 'assemble') return;
  const plan = record.video.segments;
  const framesTotal = record.video.framesTotal;
  const counted = plan.reduce((sum, s) => sum + (done.has(s.index) ? s.count : 0), 0);
  const framesDone = Math.min(
    framesTotal,
    Math.max(record.video.framesDone, counted + (done.has(own.index) ? 0 : own.frames)),
  );
  if (framesDone === record.video.framesDone && record.status === 'processing') return;
  const startedAt = record.startedAt ?? run.now();
  const elapsed = (Date.parse(run.now()) - Date.parse(startedAt)) / 1000;
  const etaSeconds = framesDone > 0 && elapsed > 0 ? (elapsed * (framesTotal - framesDone)) / framesDone : undefined;
  await tasks
    .writeVersioned(
      {
        ...record,
        status: 'processing',
        stage: 'enhance',
        startedAt,
        progress: Math.round((framesDone / framesTotal) * SEGMENTS_PROGRESS_SHARE * 10) / 10,
        message: undefined,
        video: {
          ...record.video,
          framesDone,
          segmentsDone: Math.max(record.video.segmentsDone ?? 0, done.size),
          ...(etaSeconds === undefined ? {} : { etaSeconds: Math.round(etaSeconds * 10) / 10 }),
        },
        updatedAt: run.now(),
      },
      found?.etag ? { ifMatch: found.etag } : {},
    )
    .catch((err: unknown) => {
      // Another segment's worker wrote in between: its view is as good; the next write catches up.
      if (!(isPhotoEnhanceError(err) && err.code === 'CONFLICT')) throw err;
    });
}

/**
 * Joins the clip at once when `done` holds every planned segment: the delivery whose segment completed the set
 * runs the assembly itself, still holding its segment message (the lease keeps extending it), instead of sending
 * an assemble job and waiting for some worker to receive it. That message is the at-least-once fallback: a
 * worker killed while joining never acknowledges it, so it is redelivered, finds its segment done and lands
 * here again (docs/design.md §9). The task record is read afresh (the one the segment started with is minutes
 * old): a task finished or cancelled meanwhile is left alone. Returns whether this delivery assembled.
 */
async function assembleIfComplete(run: VideoRun, plan: TaskRecord, done: Set<number>, inputKey: string) {
  if (!(plan.video?.segments ?? []).every((s) => done.has(s.index))) return false;
  const record = await run.deps.tasks.read(run.taskId);
  if (!record?.video || isTerminalStatus(record.status)) return false;
  run.deps.logger.info(run.log, 'last segment done; assembling');
  await runAssemble(run, inputKey, record);
  return true;
}

async function runSegment(run: VideoRun, job: VideoSegmentJob, record: TaskRecord): Promise<JobOutcome> {
  const { storage, engine, logger, timings } = run.deps;
  const video = record.video as NonNullable<TaskRecord['video']>;
  const segments = createSegmentRepository(storage);
  const { segment } = job;
  const planned = video.segments[segment.index];
  if (!planned || planned.start !== segment.start || planned.count !== segment.count) {
    throw new PhotoEnhanceError('INVALID_INPUT', `Segment ${segment.index} is not in the task's plan`);
  }
  const existing = await timed(run, 'records', () => segments.read(run.taskId, segment.index));
  if (existing?.status === 'done') {
    // Redelivered after it finished: the acknowledgement was lost, or the worker joining the clip died.
    const assembled = await assembleIfComplete(run, record, await segments.doneIndexes(run.taskId), job.inputKey);
    return assembled ? 'completed' : 'skipped';
  }
  const enhanceFrame = engine.enhanceFrame?.bind(engine);
  if (!enhanceFrame) throw new PhotoEnhanceError('MODEL_NOT_READY', 'This worker cannot enhance video frames');
  const base: SegmentRecord = {
    taskId: run.taskId,
    index: segment.index,
    start: segment.start,
    count: segment.count,
    status: 'running',
    framesDone: 0,
    attemptId: run.attemptId,
    workerId: timings.workerId,
    engineSeconds: 0,
    models: [],
    startedAt: run.now(),
    updatedAt: run.now(),
  };
  await timed(run, 'records', () => segments.write(base));
  logger.info({ ...run.log, segment: segment.index, frames: segment.count }, 'video segment started');
  if (record.status === 'queued') {
    // The clip's first segment to start: the task shows processing (later ones need no write here).
    await timed(run, 'progress', () => publishProgress(run, new Set(), { index: segment.index, frames: 0 })).catch(
      (err: unknown) => logger.warn({ ...run.log, err }, 'progress write failed'),
    );
  }

  const dir = await mkdtemp(join(tmpdir(), 'pe-segment-'));
  const { signal } = run.controller;
  try {
    // ffmpeg reads the clip from storage itself, by a presigned GET on the worker's own endpoint: its input seek
    // becomes range requests for the segment's key frames, so a segment fetches about its share of the clip
    // instead of the whole file (a clip of S segments was downloaded S times). The URL stays in this process:
    // decode errors name it "input".
    const { url: input } = await timed(run, 'input', () =>
      storage.presignGet(job.inputKey, { internal: true, expiresIn: SEGMENT_URL_SECONDS }),
    );
    const probe = video.probe;
    const scale = record.options.scale;
    const width = Math.max(1, Math.round(probe.width * scale));
    const height = Math.max(1, Math.round(probe.height * scale));
    const encoded = join(dir, 'segment.video');
    const faces =
      record.options.face.enabled && video.smoothFaces
        ? createFaceSmoother(frameDetector(engine), record.options)
        : null;
    const tracked = async (frame: DecodedFrame) => faces?.next(frame, frameSeconds(probe, frame.index));
    let engineSeconds = 0;
    let lastWrite = Date.now();
    // Summed over the frames, so the result says what a photo's does (faces restored or why not, models).
    const faceReport: FaceReport = { detected: 0, restored: 0, skipped: [] };
    // Faces found by detectFrameFaces (tracking) are handed in, so the engine does not list the detector itself.
    const models = new Set<string>(faces ? [DETECTOR_MODEL] : []);
    const framesStart = performance.now();
    let inCallbacks = 0;
    await processSegment({
      input,
      probe,
      start: segment.start,
      count: segment.count,
      // Tracking state across the boundary: the frames before the segment are detected (not enhanced) so the
      // smoothed landmarks at its first frame are what the previous segment's last frames led to.
      warmup: faces ? TRACK_WARMUP_FRAMES : 0,
      width,
      height,
      output: video.output,
      path: encoded,
      signal,
      observe: async (frame) => {
        await tracked(frame);
      },
      enhance: async (frame) => {
        const given = await tracked(frame);
        const t0 = performance.now();
        const out = await enhanceFrame(frame, record.options, { signal, ...(given ? { faces: given } : {}) });
        engineSeconds += (performance.now() - t0) / 1000;
        inCallbacks += performance.now() - t0;
        faceReport.detected += out.faces.detected;
        faceReport.restored += out.faces.restored;
        if (out.faces.notice) faceReport.notice = out.faces.notice;
        if (out.faces.model) faceReport.model = out.faces.model;
        for (const m of out.models) models.add(m);
        if (out.frame.width !== width || out.frame.height !== height) {
          throw new PhotoEnhanceError(
            'INTERNAL',
            `Engine gave ${out.frame.width}×${out.frame.height}, expected ${width}×${height}`,
          );
        }
        return out.frame.data;
      },
      onFrame: async (framesDone) => {
        if (Date.now() - lastWrite < timings.progressIntervalMs || framesDone >= segment.count) return;
        lastWrite = Date.now();
        const t0 = performance.now();
        await timed(run, 'progress', async () => {
          await writeSegment(run, segments, { ...base, framesDone, engineSeconds, updatedAt: run.now() });
          const done = await segments.doneIndexes(run.taskId);
          await publishProgress(run, done, { index: segment.index, frames: framesDone }).catch((err: unknown) => {
            if (!signal.aborted) logger.warn({ ...run.log, err }, 'progress write failed');
          });
        });
        inCallbacks += performance.now() - t0;
      },
    });
    // Decode + encode (+ tracking): the frames' wall time less the engine and progress writes.
    run.spans.engine = Math.round(engineSeconds * 10000) / 10;
    run.spans.codec = Math.round((performance.now() - framesStart - inCallbacks) * 10) / 10;
    if (signal.aborted) throw signal.reason;
    const key = segments.segmentKey(run.taskId, segment.index);
    const { size } = await stat(encoded);
    await timed(run, 'upload', () => storage.upload(key, createReadStream(encoded), { contentType: 'video/mp4' }));
    await timed(run, 'records', () =>
      writeSegment(run, segments, {
        ...base,
        status: 'done',
        framesDone: segment.count,
        key,
        bytes: size,
        engineSeconds,
        faces: faceReport,
        models: [...models],
        updatedAt: run.now(),
      }),
    );
    // One LIST after our done record: the later of two segments finishing together sees both (exactly one
    // assembly in effect), and the same list gives the progress write its count.
    const done = await timed(run, 'last-check', () => segments.doneIndexes(run.taskId));
    // The segment that completes the set skips the progress write: the assembly's claim, next, shows every frame.
    if (!video.segments.every((s) => done.has(s.index))) {
      await timed(run, 'progress', () =>
        publishProgress(run, done, { index: segment.index, frames: segment.count }),
      ).catch((err: unknown) => logger.warn({ ...run.log, err }, 'progress write failed'));
    }
    // The segment's own time; a joining that follows logs spans of its own ('video assembled').
    run.spans.total = Math.round((performance.now() - run.started) * 10) / 10;
    await assembleIfComplete(run, record, done, job.inputKey);
    return 'completed';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Fenced task-record write for the assemble job (the photo rule: only the delivery holding attemptId writes). */
async function writeTask(run: VideoRun, patch: Partial<TaskRecord>): Promise<TaskRecord> {
  const current = await run.deps.tasks.read(run.taskId);
  if (!current || current.attemptId !== run.attemptId || isTerminalStatus(current.status)) abortRun(run, 'lease-lost');
  return run.deps.tasks.write({ ...current, ...patch, updatedAt: run.now() });
}

/**
 * Joins the done segments into the result (an assemble job, or inline after the last segment). Its spans are
 * logged on their own line ('video assembled'): `sinceLastSegment` is the gap between the last segment's done
 * record and this start (the hand-over the inline assembly removes), the rest is the joining itself.
 */
async function runAssemble(parent: VideoRun, inputKey: string, record: TaskRecord): Promise<JobOutcome> {
  const run: VideoRun = { ...parent, spans: {}, started: performance.now() };
  const startedAt = Date.now();
  const { storage, tasks, logger } = run.deps;
  const video = record.video as NonNullable<TaskRecord['video']>;
  const segments = createSegmentRepository(storage);
  const all = new Map((await timed(run, 'records', () => segments.list(run.taskId))).map((s) => [s.index, s]));
  const missing = video.segments.filter((s) => all.get(s.index)?.status !== 'done');
  if (missing.length > 0) {
    // Only reached once all were done; a segment record gone missing is a storage fault: retried, then EXHAUSTED.
    throw new PhotoEnhanceError('STORAGE_ERROR', `Segments not done: ${missing.map((s) => s.index).join(', ')}`);
  }
  const lastDone = Math.max(...[...all.values()].map((s) => Date.parse(s.updatedAt)));
  run.spans.sinceLastSegment = Math.max(0, startedAt - lastDone);
  await timed(run, 'records', () =>
    tasks.write({
      ...record,
      status: 'processing',
      stage: 'assemble',
      attemptId: run.attemptId,
      workerId: run.deps.timings.workerId,
      attempts: record.attempts + 1,
      progress: SEGMENTS_PROGRESS_SHARE,
      video: { ...video, framesDone: video.framesTotal, segmentsDone: video.segments.length, etaSeconds: 0 },
      updatedAt: run.now(),
    }),
  );
  const dir = await mkdtemp(join(tmpdir(), 'pe-assemble-'));
  const { signal } = run.controller;
  try {
    const files = video.segments.map((s) => ({
      index: s.index,
      start: s.start,
      path: join(dir, `segment-${s.index}.mp4`),
    }));
    const pending = [...files];
    // A few downloads at once: one by one, a clip of hundreds of segments waits on a round trip per segment
    // (8: the small objects of a short clip are round-trip bound; measured 60–250 ms for 32 at 4 at once).
    const fetcher = async () => {
      for (let f = pending.shift(); f; f = pending.shift()) {
        const { body } = await storage.getStream(segments.segmentKey(run.taskId, f.index));
        await pipeline(body, createWriteStream(f.path), { signal });
      }
    };
    // The clip (for its sound) comes in beside the segments, not before them: the two waits overlap.
    const [input] = await Promise.all([
      timed(run, 'input', () => downloadInput(run, inputKey, dir)),
      timed(run, 'segments', () => Promise.all(Array.from({ length: 8 }, fetcher))),
    ]);
    const container = resultContainer(video.probe);
    const output = join(dir, `result.${container}`);
    await timed(run, 'concat', () =>
      assembleVideo({
        probe: video.probe,
        original: input,
        segments: files,
        listPath: join(dir, 'list.txt'),
        output,
        signal,
      }),
    );
    const outputKey = keys.output(run.taskId, record.input.filename, container);
    const { size } = await stat(output);
    await timed(run, 'upload', () =>
      storage.upload(outputKey, createReadStream(output), { contentType: CONTAINER_MIME[container] }),
    );
    if (signal.aborted || (await tasks.readCancelMarker(run.taskId))) {
      await storage.delete(outputKey).catch(() => undefined);
      if (!signal.aborted) abortRun(run, 'cancelled');
      throw signal.reason;
    }
    const engineSeconds = [...all.values()].reduce((sum, s) => sum + s.engineSeconds, 0);
    const scale = record.options.scale;
    const width = Math.round(video.probe.width * scale);
    const height = Math.round(video.probe.height * scale);
    await timed(run, 'records', () =>
      writeTask(run, {
        status: 'completed',
        stage: 'done',
        progress: 100,
        message: 'Completed',
        completedAt: run.now(),
        result: {
          key: outputKey,
          filename: outputKey.slice(outputKey.lastIndexOf('/') + 1),
          bytes: size,
          format: container,
          width: width - (width % 2),
          height: height - (height % 2),
          faces: sumFaces([...all.values()]),
          models: [...new Set([...all.values()].flatMap((s) => s.models))],
          timings: { enhance: Math.round(engineSeconds * 1000) / 1000 },
          warnings: [],
        },
      }),
    );
    run.spans.total = Math.round((performance.now() - run.started) * 10) / 10;
    logger.info({ ...run.log, outputKey, bytes: size, spansMs: run.spans }, 'video assembled');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await segments
    .deleteAll(run.taskId)
    .catch((err: unknown) => logger.warn({ ...run.log, err }, 'segment clean-up failed'));
  return 'completed';
}

/** The faces of a whole clip: detections and restorations over every frame, the notice when none was restored. */
function sumFaces(segments: SegmentRecord[]): FaceReport {
  const report: FaceReport = { detected: 0, restored: 0, skipped: [] };
  for (const s of segments) {
    report.detected += s.faces?.detected ?? 0;
    report.restored += s.faces?.restored ?? 0;
    if (s.faces?.notice) report.notice = s.faces.notice;
    if (s.faces?.model) report.model = s.faces.model;
  }
  return report;
}

/**
 * The photo jobs' settle step (settle-job.ts). Video jobs write only a final state on the task record (cancelled
 * or failed: one damaged segment fails the whole video), never a retrying or queued stage: the record's stage
 * belongs to the clip, which other segments are still advancing.
 */
function settle(run: VideoRun, err: unknown): Promise<JobOutcome> {
  const { tasks } = run.deps;
  return settleJob(
    {
      ...run.deps,
      message: run.message,
      log: run.log,
      signal: run.controller.signal,
      async write(patch) {
        if (!patch.status || !isTerminalStatus(patch.status)) return false;
        try {
          const record = await tasks.read(run.taskId);
          if (record && !isTerminalStatus(record.status))
            await tasks.write({ ...record, ...patch, updatedAt: run.now() });
          return true;
        } catch {
          return false;
        }
      },
      acknowledge: () => acknowledge(run),
      canFail: true,
      attempt: run.message.receiveCount,
      now: run.now,
    },
    err,
  );
}

export async function runVideoJob(
  deps: VideoRunnerDeps,
  message: ReceivedJob,
  job: VideoJobMessage,
  stopSignal: AbortSignal,
): Promise<JobOutcome> {
  const { queue, tasks, logger, timings } = deps;
  const controller = new AbortController();
  const run: VideoRun = {
    deps,
    message,
    taskId: job.taskId,
    log: {
      taskId: job.taskId,
      kind: job.kind,
      ...(job.kind === 'video-segment' ? { segment: job.segment.index } : {}),
      messageId: message.messageId,
      receiveCount: message.receiveCount,
    },
    controller,
    attemptId: randomUUID(),
    spans: {},
    started: performance.now(),
    now: () => (deps.now ?? (() => new Date()))().toISOString(),
  };
  const onStop = () => controller.abort(stopSignal.reason);
  if (stopSignal.aborted) onStop();
  else stopSignal.addEventListener('abort', onStop, { once: true });
  const lease = startLease({
    queue,
    tasks,
    logger,
    taskId: job.taskId,
    receiptHandle: message.receiptHandle,
    visibilityTimeoutSeconds: timings.visibilityTimeoutSeconds,
    heartbeatMs: timings.heartbeatMs,
    cancelPollMs: timings.cancelPollMs,
    controller,
  });
  try {
    const gated = await timed(run, 'gate', () => gate(run));
    if (gated.kind === 'done') {
      lease.stop();
      await acknowledge(run);
      return gated.outcome;
    }
    const outcome =
      job.kind === 'video-segment'
        ? await runSegment(run, job, gated.record)
        : await runAssemble(run, job.inputKey, gated.record);
    lease.stop();
    await timed(run, 'ack', () => acknowledge(run));
    run.spans.total ??= Math.round((performance.now() - run.started) * 10) / 10;
    logger.info({ ...run.log, outcome, spansMs: run.spans }, `${job.kind} job done`);
    return outcome;
  } catch (err) {
    lease.stop();
    return await settle(run, err);
  } finally {
    lease.stop();
    stopSignal.removeEventListener('abort', onStop);
  }
}
