import { isTerminalStatus, isValidId, type TaskRecord } from '@photoenhance/contracts';
import type { WorkerLogger, WorkerQueue, WorkerTasks } from './ports.ts';

export interface ReapDeps {
  tasks: Pick<WorkerTasks, 'read' | 'write' | 'readCancelMarker'>;
  queue: Pick<WorkerQueue, 'receiveDlq' | 'deleteDlq'>;
  logger: WorkerLogger;
  now?: () => Date;
  /** Told about each task this pass failed with EXHAUSTED (metrics, client callback). */
  onTaskFailed?: (record: TaskRecord) => void;
}

function taskIdOf(body: string, parsed: string | undefined): string | undefined {
  if (parsed) return parsed;
  try {
    const id = (JSON.parse(body) as { taskId?: unknown } | null)?.taskId;
    return isValidId(id) ? id.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Drains the dead-letter queue: every job the queue gave up on (MAX_RECEIVE_COUNT transient failures or
 * crashes) fails its task with EXHAUSTED, then its message is deleted. Idempotent, so several workers may run
 * it at once. Returns how many messages were handled.
 */
export async function reapDeadLetters(deps: ReapDeps, options: { maxMessages?: number } = {}): Promise<number> {
  const { tasks, queue, logger } = deps;
  const now = () => (deps.now ?? (() => new Date()))().toISOString();
  const limit = options.maxMessages ?? 100;
  let handled = 0;
  while (handled < limit) {
    const batch = await queue.receiveDlq({ waitTimeSeconds: 0, max: 10, visibilityTimeout: 30 });
    if (batch.length === 0) break;
    for (const message of batch) {
      const taskId = taskIdOf(message.body, message.job?.taskId);
      if (taskId) {
        const record = await tasks.read(taskId);
        const cancelled = record ? await tasks.readCancelMarker(taskId) : null;
        if (record && !isTerminalStatus(record.status) && !cancelled) {
          // The worker-observed count: DLQ receive counts differ between SQS implementations.
          const attempts = record.attempts;
          const last = record.message ? ` Last: ${record.message}` : '';
          const failed = await tasks.write({
            ...record,
            status: 'failed',
            stage: 'failed',
            attempts,
            error: { code: 'EXHAUSTED', message: `Gave up after ${attempts} attempts.${last}`.slice(0, 2000) },
            message: 'Failed after repeated attempts',
            updatedAt: now(),
            completedAt: now(),
          });
          logger.warn({ taskId, attempts }, 'dead-lettered job: task failed with EXHAUSTED');
          deps.onTaskFailed?.(failed);
        } else {
          logger.info(
            { taskId, status: record?.status ?? 'unknown' },
            'dead-lettered job for a finished or unknown task',
          );
        }
      } else {
        logger.warn({ messageId: message.messageId }, 'dead-lettered message without a task id; dropping it');
      }
      // Only after the record write: a failure above leaves the message in the DLQ for the next pass.
      await queue.deleteDlq(message.receiptHandle);
      handled++;
    }
  }
  return handled;
}
