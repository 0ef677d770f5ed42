import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isPhotoEnhanceError,
  isTerminalStatus,
  isVideoJob,
  mimeTypeFor,
  PhotoEnhanceError,
  type TaskRecord,
  type WorkerStage,
} from '@photoenhance/contracts';
import { keys, type ReceivedJob, type VersionedTask } from '@photoenhance/core';
import type { EnhanceResult } from '@photoenhance/engine';
import type { WorkerTimings } from './config.ts';
import { startLease } from './lease.ts';
import type { JobOutcome } from './metrics.ts';
import {
  abortKind,
  type FencingMode,
  JobAbort,
  type WorkerEngine,
  type WorkerLogger,
  type WorkerQueue,
  type WorkerStorage,
  type WorkerTasks,
} from './ports.ts';
import { createProgressThrottle } from './progress-throttle.ts';
import { settleJob } from './settle-job.ts';

/**
 * One received message, run to an outcome. The at-least-once rules (docs/design.md §4), step by step:
 *
 *  1. lease     — the visibility heartbeat starts before anything else, so slow storage never lets the message
 *                 be redelivered while this worker still works on it;
 *  2. claim     — read the record (waiting a bounded time for one the API has not written yet) and the cancel
 *                 marker; a finished, cancelled or unknown task is only acknowledged. Otherwise the record is
 *                 written `processing` with a fresh fencing token (attemptId);
 *  3. processJob — download, engine, store the output at its deterministic key;
 *  4. complete  — the record becomes `completed`;
 *  5. acknowledge — delete the message. A failed delete (stale receipt handle after a redelivery) never
 *                 changes the record: the redelivered copy finds the task finished and is acknowledged then.
 *
 * Every record write after the claim is fenced: with conditional writes (AWS S3, MinIO) it names the ETag of the
 * record this run last wrote (If-Match), so a record changed by anyone else refuses it — then, and only then, the
 * record is read to see who has it. Without them (fauxqs) the record is re-read before every write. Either way
 * the write is dropped (the job abandoned) when another delivery has claimed the task since, or it finished.
 *
 * Errors: a stop from outside (kill, lost lease, superseded) touches nothing; shutdown hands the message back;
 * cancel writes `cancelled`; retryable errors (storage, queue, network) leave the task to redelivery with a
 * back-off; permanent ones (bad image, limits) fail the task once — and if even that write fails, the message
 * is left to redelivery rather than acknowledged.
 */
export interface JobRunnerDeps {
  storage: WorkerStorage;
  tasks: WorkerTasks;
  queue: WorkerQueue;
  engine: WorkerEngine;
  logger: WorkerLogger;
  timings: WorkerTimings;
  /** See FencingMode; the worker probes the store for it once at start. */
  fencing: FencingMode;
  /** The record a run left completed or failed (metrics, webhooks): handed over, so nobody reads it again. */
  onFinished?: (record: TaskRecord) => void;
  now?: () => Date;
}

/** Progress while the engine runs tops out here: the upload and the final write are the last step. */
const ENGINE_PROGRESS_SHARE = 95;
/**
 * When a job whose record is not written yet looks again. The API sends the job before it writes the record, so
 * an idle worker (long poll) often receives it a few milliseconds too early: the first look again comes soon,
 * later ones back off to 200 ms (a fixed 200 ms cost every such task that much wall time).
 */
const RECORD_POLL_MS = [25, 50, 100, 200];

/** Best-effort task id from a body that failed validation, so the task can still be failed visibly. */
function taskIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { taskId?: unknown } | null)?.taskId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Everything one run shares between its steps. */
interface Run {
  deps: JobRunnerDeps;
  message: ReceivedJob;
  taskId: string;
  log: Record<string, unknown>;
  /** Aborted by the lease (cancel, lost lease), a fenced write (superseded) or the worker (shutdown, kill). */
  controller: AbortController;
  attemptId: string;
  /** The record as this run last wrote (or read) it. */
  record: TaskRecord | undefined;
  /** The ETag of `record` as stored, for the next conditional write. */
  etag: string | undefined;
  now(): string;
}

/** Ends a run from outside its own work: the caller settles it by kind (see settle()). */
function abortRun(run: Run, kind: ConstructorParameters<typeof JobAbort>[0]): never {
  if (!run.controller.signal.aborted) run.controller.abort(new JobAbort(kind));
  throw run.controller.signal.reason;
}

const isConflict = (err: unknown) => isPhotoEnhanceError(err) && err.code === 'CONFLICT';

/** Abandons the run (as `lease-lost`) when the stored record is no longer this run's or is finished. */
function assertOwned(run: Run, current: TaskRecord | undefined): asserts current is TaskRecord {
  if (!current || current.attemptId !== run.attemptId || isTerminalStatus(current.status)) {
    run.deps.logger.warn(
      { ...run.log, heldBy: current?.attemptId, status: current?.status ?? 'missing' },
      'task claimed by a newer delivery or already finished; abandoning this one without writing',
    );
    abortRun(run, 'lease-lost');
  }
}

/**
 * Fenced record write. Conditional: one PUT with If-Match on the ETag this run last wrote; a refusal means
 * someone else wrote the record, so it is read once to see whether it is still ours (e.g. a rewrite that kept
 * our token) and written again under that version, else the run is superseded. Read-then-write (stores without
 * conditional writes): re-read, compare the attemptId, write. Superseded = aborted as `lease-lost`, nothing written.
 */
async function writeRecord(run: Run, patch: Partial<TaskRecord>): Promise<void> {
  const { tasks, fencing } = run.deps;
  const conditional = fencing === 'conditional';
  if (conditional && run.record && run.etag) {
    try {
      const written = await tasks.writeVersioned(
        { ...run.record, ...patch, updatedAt: run.now() },
        { ifMatch: run.etag },
      );
      run.record = written.record;
      run.etag = written.etag;
      return;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  const current = await tasks.readVersioned(run.taskId);
  assertOwned(run, current?.record);
  if (current.record.cancelRequested && patch.status !== 'cancelled') {
    // The API's cancel rewrote the record (records/tasks.ts requestCancel): that is why If-Match was refused.
    // Its version becomes ours, so settle()'s `cancelled` write goes over it.
    run.record = current.record;
    run.etag = current.etag;
    abortRun(run, 'cancelled');
  }
  try {
    const written = await tasks.writeVersioned(
      { ...current.record, ...patch, updatedAt: run.now() },
      conditional && current?.etag ? { ifMatch: current.etag } : {},
    );
    run.record = written.record;
    run.etag = written.etag;
  } catch (err) {
    // Changed again between that read and this write: a newer delivery is busy with it; leave it to them.
    if (isConflict(err)) abortRun(run, 'lease-lost');
    throw err;
  }
}

/** Deletes the message; a refusal (stale receipt handle after a redelivery) is logged, never a task failure. */
async function acknowledge(run: Run): Promise<void> {
  await run.deps.queue.delete(run.message.receiptHandle).catch((err: unknown) => {
    run.deps.logger.warn(
      { ...run.log, err },
      'message not deleted (redelivered meanwhile?); its next delivery finds the task finished and acknowledges it',
    );
  });
}

/** Step 2a: the record, waiting up to recordGraceMs after the message was sent for one not written yet. */
async function awaitRecord(run: Run): Promise<VersionedTask | null> {
  const { tasks, timings } = run.deps;
  const sentAt = run.message.sentAt?.getTime() ?? Date.now();
  const deadline = sentAt + timings.recordGraceMs;
  for (let look = 0; ; look++) {
    const record = await tasks.readVersioned(run.taskId);
    if (record || Date.now() >= deadline) return record;
    const pause = RECORD_POLL_MS[Math.min(look, RECORD_POLL_MS.length - 1)] ?? 200;
    await sleep(Math.min(pause, deadline - Date.now()), undefined, { signal: run.controller.signal });
  }
}

type Claim = { kind: 'run' } | { kind: 'done'; outcome: JobOutcome };

/**
 * Was the task cancelled before this claim? The API's cancel writes the record too (`cancelled` while queued,
 * `cancelRequested` once claimed), If-Match on the version it read, so with conditional writes the record just
 * read says it — or the claim's own If-Match is refused — and no marker read is needed (docs/design.md §7).
 * Without them the API leaves a claimed record alone, so the marker is read.
 */
async function cancelledBeforeClaim(run: Run, stored: TaskRecord): Promise<boolean> {
  if (stored.cancelRequested) return true;
  if (run.deps.fencing === 'conditional') return false;
  return (await run.deps.tasks.readCancelMarker(run.taskId)) !== null;
}

/** Step 2: decide whether this delivery runs, and if so take the task with a fresh fencing token. */
async function claim(run: Run): Promise<Claim> {
  const { tasks, logger, timings } = run.deps;
  const found = await awaitRecord(run);
  if (!found) {
    // The API sends the job before it writes the record; none after the grace period means the request died
    // in between (its client got an error): nothing can ever run this job.
    logger.warn(run.log, 'job for an unknown task; deleting the message');
    return { kind: 'done', outcome: 'invalid' };
  }
  const stored = found.record;
  // Conditional stores: the claim names the version read, so two deliveries claiming at once cannot both win.
  const claimCondition = run.deps.fencing === 'conditional' && found.etag ? { ifMatch: found.etag } : {};
  run.record = stored;
  if (await cancelledBeforeClaim(run, stored)) {
    if (!isTerminalStatus(stored.status)) {
      await tasks
        .writeVersioned(
          {
            ...stored,
            status: 'cancelled',
            stage: 'cancelled',
            message: 'Task cancelled',
            updatedAt: run.now(),
            completedAt: run.now(),
          },
          claimCondition,
        )
        // Refused: someone wrote since our read (the API's own `cancelled`, a newer delivery); theirs stands.
        .catch((err: unknown) => {
          if (!isConflict(err)) throw err;
        });
    }
    logger.info(run.log, 'task was cancelled before it started');
    return { kind: 'done', outcome: 'cancelled' };
  }
  if (isTerminalStatus(stored.status)) {
    // Redelivery of a job that already finished (e.g. the delete after completion failed): acknowledge only.
    logger.info({ ...run.log, status: stored.status }, 'task already finished; acknowledging the duplicate');
    return { kind: 'done', outcome: 'skipped' };
  }
  const claimed = await tasks
    .writeVersioned(
      {
        ...stored,
        status: 'processing',
        stage: 'download' satisfies WorkerStage,
        progress: 0,
        attempts: Math.max(stored.attempts + 1, run.message.receiveCount),
        attemptId: run.attemptId,
        workerId: timings.workerId,
        startedAt: stored.startedAt ?? run.now(),
        // No fixed text: the API then shows the live stage ("Processing (upscale)").
        message: undefined,
        error: undefined,
        updatedAt: run.now(),
      },
      claimCondition,
    )
    .catch(async (err: unknown) => {
      // Another writer got in between our read and this claim (a duplicate delivery, a cancel): theirs stands.
      if (!isConflict(err)) throw err;
      // A cancel of the queued task is final: acknowledge now instead of waiting for a redelivery to see it.
      if ((await tasks.read(run.taskId))?.status === 'cancelled') return null;
      abortRun(run, 'lease-lost');
    });
  if (!claimed) {
    logger.info(run.log, 'task was cancelled while it was being claimed');
    return { kind: 'done', outcome: 'cancelled' };
  }
  run.record = claimed.record;
  run.etag = claimed.etag;
  logger.info({ ...run.log, attempts: run.record.attempts, fencing: run.deps.fencing }, 'job started');
  return { kind: 'run' };
}

/**
 * The input to read: the task record's (written by the API), never the message's — a message can be sent by
 * anything with queue access, and must not make a worker read (and publish as a result) another task's photo.
 * The key must also lie under this task's own input prefix.
 */
function inputKeyOf(run: Run): string {
  const key = run.record?.input.key ?? '';
  if (!key.startsWith(keys.inputPrefix(run.taskId)) || key.includes('..')) {
    throw new PhotoEnhanceError('INVALID_INPUT', 'The task record names an input outside its own task', {
      retryable: false,
    });
  }
  if (run.message.job?.inputKey !== key) {
    run.deps.logger.warn({ ...run.log }, 'job message names another input than its task record: using the record');
  }
  return key;
}

/** Step 3: input → engine → output object. Returns the result and where it was stored. */
async function processJob(run: Run): Promise<{ result: EnhanceResult; outputKey: string }> {
  const { storage, tasks, engine, timings, logger } = run.deps;
  const { signal } = run.controller;
  const job = run.message.job;
  // Video jobs never come here: the worker dispatches them to video/video-runner.ts by kind.
  if (!job || isVideoJob(job) || !run.record) throw new Error('process() before claim(), or not a photo job');
  // Progress is a patch of the record, written at most once per PROGRESS_MIN_INTERVAL_MS (the final state is
  // complete()'s, always written): a ~1 s job writes none, a 60 s one about one per interval.
  const progress = createProgressThrottle<Pick<TaskRecord, 'stage' | 'progress'>>({
    intervalMs: timings.progressIntervalMs,
    write: async (patch) => {
      if (signal.aborted) return;
      await writeRecord(run, patch).catch((err: unknown) => {
        if (!signal.aborted) logger.warn({ ...run.log, err }, 'progress write failed');
      });
    },
  });
  let result: EnhanceResult;
  let outputKey: string;
  try {
    const input = await storage.getBuffer(inputKeyOf(run));
    result = await engine.enhance(input, job.options, {
      signal,
      onProgress: (e) =>
        progress.onProgress({ stage: e.stage, progress: Math.round(e.progress * ENGINE_PROGRESS_SHARE * 10) / 10 }),
    });
    if (signal.aborted) throw signal.reason;
    progress.onProgress({ stage: 'store' satisfies WorkerStage, progress: ENGINE_PROGRESS_SHARE });
    outputKey = keys.output(run.taskId, run.record.input.filename, result.format);
    await storage.put(outputKey, result.data, { contentType: mimeTypeFor(result.format) });
  } finally {
    await progress.discard();
  }

  // The last chance to honour a cancel that arrived during the upload: do not publish a result for it. With
  // conditional writes complete()'s If-Match is that check: a cancel since our last write changed the record,
  // so the write is refused and the re-read finds `cancelRequested` (writeRecord aborts as cancelled, and
  // complete() deletes the output). Without them the marker is read here.
  if (signal.aborted || (run.deps.fencing !== 'conditional' && (await tasks.readCancelMarker(run.taskId)))) {
    await storage.delete(outputKey).catch(() => undefined);
    if (!signal.aborted) abortRun(run, 'cancelled');
    throw signal.reason;
  }
  return { result, outputKey };
}

/** Step 4: the record says completed (fenced: a superseded run publishes nothing). */
async function complete(run: Run, { result, outputKey }: { result: EnhanceResult; outputKey: string }) {
  const written = writeRecord(run, {
    status: 'completed',
    stage: 'done',
    progress: 100,
    message: 'Completed',
    completedAt: run.now(),
    result: {
      key: outputKey,
      filename: outputKey.slice(outputKey.lastIndexOf('/') + 1),
      bytes: result.data.length,
      format: result.format,
      width: result.width,
      height: result.height,
      faces: result.faces,
      models: result.models,
      timings: result.timings,
      warnings: result.warnings,
    },
  });
  // Refused because the task was cancelled during the upload (conditional writes): publish nothing.
  await written.catch(async (err: unknown) => {
    if (abortKind(run.controller.signal) === 'cancelled')
      await run.deps.storage.delete(outputKey).catch(() => undefined);
    throw err;
  });
  run.deps.logger.info({ ...run.log, outputKey, width: result.width, height: result.height }, 'job completed');
}

/** A message whose body is not a job: fail its task visibly when the id can be read, then drop it. */
async function dropInvalidMessage(deps: JobRunnerDeps, message: ReceivedJob): Promise<JobOutcome> {
  const { tasks, queue, logger } = deps;
  const now = () => (deps.now ?? (() => new Date()))().toISOString();
  logger.warn({ messageId: message.messageId, reason: message.invalidReason }, 'invalid job message; deleting it');
  const taskId = taskIdOf(message.body);
  const record = taskId ? await tasks.read(taskId).catch(() => null) : null;
  if (record && !isTerminalStatus(record.status)) {
    await tasks.write({
      ...record,
      status: 'failed',
      stage: 'failed',
      error: {
        code: 'INVALID_INPUT',
        message: `Job message is invalid: ${message.invalidReason ?? 'unknown shape'}`.slice(0, 2000),
      },
      message: 'The job could not be read',
      updatedAt: now(),
      completedAt: now(),
    });
  }
  await queue.delete(message.receiptHandle);
  return 'invalid';
}

/**
 * Runs one received message to an outcome (see the step list above). `stopSignal` is the worker's
 * shutdown/kill signal; the run links its own controller to it.
 */
export async function runJob(deps: JobRunnerDeps, message: ReceivedJob, stopSignal: AbortSignal): Promise<JobOutcome> {
  if (!message.job) return dropInvalidMessage(deps, message);
  const { queue, tasks, logger, timings } = deps;
  const taskId = message.job.taskId;
  const controller = new AbortController();
  const run: Run = {
    deps,
    message,
    taskId,
    log: { taskId, messageId: message.messageId, receiveCount: message.receiveCount },
    controller,
    attemptId: randomUUID(),
    record: undefined,
    etag: undefined,
    now: () => (deps.now ?? (() => new Date()))().toISOString(),
  };
  const onStop = () => controller.abort(stopSignal.reason);
  if (stopSignal.aborted) onStop();
  else stopSignal.addEventListener('abort', onStop, { once: true });

  // Step 1: the lease comes first, before any storage read.
  const lease = startLease({
    queue,
    tasks,
    logger,
    taskId,
    receiptHandle: message.receiptHandle,
    visibilityTimeoutSeconds: timings.visibilityTimeoutSeconds,
    heartbeatMs: timings.heartbeatMs,
    cancelPollMs: timings.cancelPollMs,
    controller,
  });
  try {
    const claimed = await claim(run);
    if (claimed.kind === 'done') {
      lease.stop();
      await acknowledge(run);
      return claimed.outcome;
    }
    const output = await processJob(run);
    await complete(run, output);
    finished(run);
    lease.stop();
    await acknowledge(run);
    return 'completed';
  } catch (err) {
    lease.stop();
    return await settle(run, err);
  } finally {
    lease.stop();
    stopSignal.removeEventListener('abort', onStop);
  }
}

/** What happens on each error class; see the header comment. */
async function settle(run: Run, err: unknown): Promise<JobOutcome> {
  const claimed = run.record?.attemptId === run.attemptId;
  return settleJob(
    {
      ...run.deps,
      message: run.message,
      log: run.log,
      signal: run.controller.signal,
      // Best-effort fenced write while settling: a failure (or a newer owner) leaves things to redelivery.
      write: (patch) =>
        claimed
          ? writeRecord(run, patch).then(
              () => true,
              () => false,
            )
          : Promise.resolve(false),
      acknowledge: () => acknowledge(run),
      canFail: claimed,
      attempt: run.record?.attempts ?? run.message.receiveCount,
      now: run.now,
      onFailed: () => finished(run),
    },
    err,
  );
}

/** Hands the final record to the observer; an observer's failure never changes the job's outcome. */
function finished(run: Run): void {
  if (!run.record) return;
  try {
    run.deps.onFinished?.(run.record);
  } catch (err) {
    run.deps.logger.warn({ ...run.log, err }, 'finished-task observer failed');
  }
}
