import { isPhotoEnhanceError } from '@photoenhance/contracts';
import { JobAbort, type WorkerLogger, type WorkerQueue, type WorkerTasks } from './ports.ts';

export interface LeaseOptions {
  queue: Pick<WorkerQueue, 'changeVisibility'>;
  tasks: Pick<WorkerTasks, 'readCancelMarker'>;
  logger: WorkerLogger;
  taskId: string;
  receiptHandle: string;
  visibilityTimeoutSeconds: number;
  heartbeatMs: number;
  cancelPollMs: number;
  /** Aborted with a JobAbort when the task is cancelled or the message is no longer ours. */
  controller: AbortController;
}

/**
 * Keeps a received message invisible while its job runs (ChangeMessageVisibility every heartbeat, so a slow
 * job is not handed to a second worker) and watches the task's cancel marker. Either finding ends the job
 * through the controller: the engine sees the AbortSignal between units of work.
 */
export function startLease(options: LeaseOptions) {
  const { queue, tasks, logger, taskId, receiptHandle, controller } = options;
  let beating = false;
  let polling = false;

  const heartbeat = setInterval(async () => {
    if (beating || controller.signal.aborted) return;
    beating = true;
    try {
      await queue.changeVisibility(receiptHandle, options.visibilityTimeoutSeconds);
      logger.debug({ taskId }, 'visibility extended');
    } catch (err) {
      // A 4xx (receipt handle invalid, message not in flight) means the message was redelivered elsewhere:
      // carrying on would only race the new holder.
      if (isPhotoEnhanceError(err) && !err.retryable) {
        logger.warn({ taskId, err }, 'lost the message lease; abandoning the job');
        controller.abort(new JobAbort('lease-lost'));
      } else {
        logger.warn({ taskId, err }, 'heartbeat failed; will retry');
      }
    } finally {
      beating = false;
    }
  }, options.heartbeatMs);

  const cancelPoll = setInterval(async () => {
    if (polling || controller.signal.aborted) return;
    polling = true;
    try {
      if (await tasks.readCancelMarker(taskId)) {
        logger.info({ taskId }, 'cancel requested; aborting the job');
        controller.abort(new JobAbort('cancelled'));
      }
    } catch (err) {
      logger.warn({ taskId, err }, 'cancel check failed; will retry');
    } finally {
      polling = false;
    }
  }, options.cancelPollMs);

  return {
    stop(): void {
      clearInterval(heartbeat);
      clearInterval(cancelPoll);
    },
  };
}
