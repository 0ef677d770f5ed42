import { isPhotoEnhanceError, type PhotoEnhanceError, type TaskRecord } from '@photoenhance/contracts';
import type { ReceivedJob } from '@photoenhance/core';
import type { WorkerTimings } from './config.ts';
import type { JobOutcome } from './metrics.ts';
import { abortKind, type WorkerLogger, type WorkerQueue } from './ports.ts';

/** Unknown failures (SDK, network, bugs) are retried: the DLQ bounds them, and nothing is lost silently. */
export function isRetryable(err: unknown): boolean {
  return isPhotoEnhanceError(err) ? err.retryable : true;
}

export function describeError(err: unknown): { code: PhotoEnhanceError['code']; message: string } {
  if (isPhotoEnhanceError(err)) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/** What a runner (photo job, video segment or assembly) lends the settle step. */
export interface SettleContext {
  queue: Pick<WorkerQueue, 'changeVisibility'>;
  logger: WorkerLogger;
  timings: Pick<WorkerTimings, 'visibilityTimeoutSeconds' | 'retryBackoffSeconds'>;
  message: ReceivedJob;
  log: Record<string, unknown>;
  /** The run's controller signal: why it was stopped from outside (abortKind), if it was. */
  signal: AbortSignal;
  /** Best-effort write of the task's state; false when it was not written (not this run's to write, storage down). */
  write(patch: Partial<TaskRecord>): Promise<boolean>;
  acknowledge(): Promise<void>;
  /** Whether a permanent error may fail the task from this run (a photo run only once it claimed the task). */
  canFail: boolean;
  /** The attempt number shown in a retrying message. */
  attempt: number;
  now(): string;
  /** The task was failed (metrics, webhooks). */
  onFailed?(): void;
}

/**
 * What happens on each error class, the same for every job kind (docs/design.md §4): killed or superseded →
 * touch nothing (redelivery); shutdown → released at once; cancelled → recorded and acknowledged; a transient
 * error → retried with exponential back-off (visibility); a permanent one → the task failed once and the
 * message acknowledged, or left to redelivery and the DLQ when that cannot be recorded.
 */
export async function settleJob(ctx: SettleContext, err: unknown): Promise<JobOutcome> {
  const { queue, logger, timings, message, log } = ctx;
  const kind = abortKind(ctx.signal);
  switch (kind) {
    case 'killed':
    case 'lease-lost':
      // A crash, or someone else now holds the message / the task: touch nothing, the queue redelivers.
      logger.warn({ ...log, kind }, 'job abandoned without acknowledging');
      return 'released';
    case 'shutdown':
      await ctx.write({ stage: 'queued', message: 'Worker shut down; the job will be retried' });
      await queue
        .changeVisibility(message.receiptHandle, 0)
        .catch((e: unknown) => logger.warn({ ...log, err: e }, 'release failed'));
      logger.info(log, 'job released to the queue (shutdown)');
      return 'released';
    case 'cancelled':
      await ctx.write({ status: 'cancelled', stage: 'cancelled', message: 'Task cancelled', completedAt: ctx.now() });
      await ctx.acknowledge();
      logger.info(log, 'job cancelled');
      return 'cancelled';
    default:
      break;
  }

  const superseded = () => abortKind(ctx.signal) === 'lease-lost';
  const error = describeError(err);
  if (isRetryable(err)) {
    const backoff = Math.min(
      timings.visibilityTimeoutSeconds,
      timings.retryBackoffSeconds * 2 ** Math.max(0, message.receiveCount - 1),
    );
    logger.warn({ ...log, err, backoffSeconds: backoff }, 'transient failure; the job will be retried');
    await ctx.write({
      stage: 'retrying',
      message: `Attempt ${ctx.attempt} failed (${error.code}: ${error.message}); retrying`.slice(0, 500),
    });
    if (superseded()) return 'released';
    await queue
      .changeVisibility(message.receiptHandle, backoff)
      .catch((e: unknown) => logger.warn({ ...log, err: e }, 'backoff failed'));
    return 'retry';
  }

  if (!ctx.canFail) {
    // A permanent error before the claim (e.g. a record that does not parse) cannot be written as a task
    // failure by this run: leave it to redelivery and the DLQ, which reports it EXHAUSTED.
    logger.warn({ ...log, err }, 'permanent failure before the task was claimed; leaving it to redelivery');
    return 'retry';
  }
  logger.warn({ ...log, err }, 'permanent failure; failing the task');
  if (!(await ctx.write({ status: 'failed', stage: 'failed', message: 'Failed', error, completedAt: ctx.now() }))) {
    if (superseded()) return 'released';
    logger.warn(log, 'failure not recorded (storage down or task taken over); leaving the job to redelivery');
    return 'retry';
  }
  ctx.onFailed?.();
  await ctx.acknowledge();
  return 'failed';
}
