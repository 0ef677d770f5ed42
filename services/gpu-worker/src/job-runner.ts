import {
  isPhotoEnhanceError,
  isTerminalStatus,
  mimeTypeFor,
  type PhotoEnhanceError,
  type TaskRecord,
} from '@photoenhance/contracts';
import { keys, type ReceivedJob } from '@photoenhance/core';
import type { WorkerTimings } from './config.ts';
import { startLease } from './lease.ts';
import type { JobOutcome } from './metrics.ts';
import {
  abortKind,
  JobAbort,
  type WorkerEngine,
  type WorkerLogger,
  type WorkerQueue,
  type WorkerStorage,
  type WorkerTasks,
} from './ports.ts';
import { createProgressThrottle } from './progress-throttle.ts';

export interface JobRunnerDeps {
  storage: WorkerStorage;
  tasks: WorkerTasks;
  queue: WorkerQueue;
  engine: WorkerEngine;
  logger: WorkerLogger;
  timings: WorkerTimings;
  now?: () => Date;
}

/** Progress while the engine runs tops out here: the upload and the final write are the last step. */
const ENGINE_PROGRESS_SHARE = 95;

/** Unknown failures (SDK, network, bugs) are retried: the DLQ bounds them, and nothing is lost silently. */
function isRetryable(err: unknown): boolean {
  return isPhotoEnhanceError(err) ? err.retryable : true;
}

function describeError(err: unknown): { code: PhotoEnhanceError['code']; message: string } {
  if (isPhotoEnhanceError(err)) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/** Best-effort task id from a body that failed validation, so the task can still be failed visibly. */
function taskIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { taskId?: unknown } | null)?.taskId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one received message to an outcome: the task record tells clients what happened, and the message is
 * deleted only once that record is written (a failed write leaves it to redelivery, then the DLQ).
 * `stopSignal` is the worker's shutdown/kill signal; the job links its own controller to it.
 */
export async function runJob(deps: JobRunnerDeps, message: ReceivedJob, stopSignal: AbortSignal): Promise<JobOutcome> {
  const { storage, tasks, queue, engine, logger, timings } = deps;
  const now = () => (deps.now ?? (() => new Date()))().toISOString();

  if (!message.job) {
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

  const job = message.job;
  const taskId = job.taskId;
  const log = { taskId, messageId: message.messageId, attempt: message.receiveCount };

  const stored = await tasks.read(taskId);
  if (!stored) {
    logger.warn(log, 'job for an unknown task; deleting the message');
    await queue.delete(message.receiptHandle);
    return 'invalid';
  }
  if (await tasks.readCancelMarker(taskId)) {
    if (!isTerminalStatus(stored.status)) {
      await tasks.write({
        ...stored,
        status: 'cancelled',
        stage: 'cancelled',
        message: 'Task cancelled',
        updatedAt: now(),
        completedAt: now(),
      });
    }
    logger.info(log, 'task was cancelled before it started');
    await queue.delete(message.receiptHandle);
    return 'cancelled';
  }
  if (isTerminalStatus(stored.status)) {
    // Redelivery of a job that already finished (e.g. the delete after completion failed): acknowledge only.
    logger.info({ ...log, status: stored.status }, 'task already finished; acknowledging the duplicate');
    await queue.delete(message.receiptHandle);
    return 'skipped';
  }

  const controller = new AbortController();
  const onStop = () => controller.abort(stopSignal.reason);
  if (stopSignal.aborted) onStop();
  else stopSignal.addEventListener('abort', onStop, { once: true });

  let record: TaskRecord = stored;
  const write = async (patch: Partial<TaskRecord>): Promise<void> => {
    record = await tasks.write({ ...record, ...patch, updatedAt: now() });
  };

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
  const progress = createProgressThrottle({
    intervalMs: timings.progressIntervalMs,
    write: async (e) => {
      if (controller.signal.aborted) return;
      await write({ stage: e.stage, progress: Math.round(e.progress * ENGINE_PROGRESS_SHARE * 10) / 10 }).catch(
        (err: unknown) => logger.warn({ ...log, err }, 'progress write failed'),
      );
    },
  });

  try {
    await write({
      status: 'processing',
      stage: 'download',
      progress: 0,
      attempts: Math.max(record.attempts, message.receiveCount),
      workerId: timings.workerId,
      startedAt: record.startedAt ?? now(),
      // No fixed text: the API then shows the live stage ("Processing (upscale)").
      message: undefined,
      error: undefined,
    });
    logger.info(log, 'job started');

    const input = await storage.getBuffer(job.inputKey);
    const result = await engine.enhance(input, job.options, {
      signal: controller.signal,
      onProgress: progress.onProgress,
    });
    await progress.discard();
    if (controller.signal.aborted) throw controller.signal.reason;

    await write({ stage: 'store', progress: ENGINE_PROGRESS_SHARE });
    const outputKey = keys.output(taskId, record.input.filename, result.format);
    await storage.put(outputKey, result.data, { contentType: mimeTypeFor(result.format) });

    // The last chance to honour a cancel that arrived during the upload: do not publish a result for it.
    if (controller.signal.aborted || (await tasks.readCancelMarker(taskId))) {
      await storage.delete(outputKey).catch(() => undefined);
      if (!controller.signal.aborted) controller.abort(new JobAbort('cancelled'));
      throw controller.signal.reason;
    }

    await write({
      status: 'completed',
      stage: 'done',
      progress: 100,
      message: 'Completed',
      completedAt: now(),
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
    lease.stop();
    await queue.delete(message.receiptHandle);
    logger.info({ ...log, outputKey, width: result.width, height: result.height }, 'job completed');
    return 'completed';
  } catch (err) {
    lease.stop();
    await progress.discard();
    return await settleFailure(deps, message, record, controller.signal, err, write);
  } finally {
    lease.stop();
    stopSignal.removeEventListener('abort', onStop);
  }
}

async function settleFailure(
  deps: JobRunnerDeps,
  message: ReceivedJob,
  record: TaskRecord,
  signal: AbortSignal,
  err: unknown,
  write: (patch: Partial<TaskRecord>) => Promise<void>,
): Promise<JobOutcome> {
  const { queue, logger, timings } = deps;
  const log = { taskId: record.taskId, messageId: message.messageId, attempt: message.receiveCount };
  const nowIso = () => (deps.now ?? (() => new Date()))().toISOString();
  const kind = abortKind(signal);

  switch (kind) {
    case 'killed':
    case 'lease-lost':
      // A crash (or someone else now holds the message): touch nothing, the queue redelivers.
      logger.warn({ ...log, kind }, 'job abandoned without acknowledging');
      return 'released';
    case 'shutdown':
      await write({ stage: 'queued', message: 'Worker shut down; the job will be retried' }).catch(() => undefined);
      await queue
        .changeVisibility(message.receiptHandle, 0)
        .catch((e: unknown) => logger.warn({ ...log, err: e }, 'release failed'));
      logger.info(log, 'job released to the queue (shutdown)');
      return 'released';
    case 'cancelled':
      await write({ status: 'cancelled', stage: 'cancelled', message: 'Task cancelled', completedAt: nowIso() });
      await queue.delete(message.receiptHandle);
      logger.info(log, 'job cancelled');
      return 'cancelled';
    default:
      break;
  }

  const error = describeError(err);
  if (isRetryable(err)) {
    const backoff = Math.min(
      timings.visibilityTimeoutSeconds,
      timings.retryBackoffSeconds * 2 ** Math.max(0, message.receiveCount - 1),
    );
    logger.warn({ ...log, err, backoffSeconds: backoff }, 'transient failure; the job will be retried');
    await write({
      stage: 'retrying',
      message: `Attempt ${message.receiveCount} failed (${error.code}: ${error.message}); retrying`.slice(0, 500),
    }).catch(() => undefined);
    await queue
      .changeVisibility(message.receiptHandle, backoff)
      .catch((e: unknown) => logger.warn({ ...log, err: e }, 'backoff failed'));
    return 'retry';
  }

  logger.warn({ ...log, err }, 'permanent failure; failing the task');
  await write({ status: 'failed', stage: 'failed', message: 'Failed', error, completedAt: nowIso() });
  await queue.delete(message.receiptHandle);
  return 'failed';
}
