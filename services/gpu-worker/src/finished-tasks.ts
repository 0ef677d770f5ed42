import type { TaskRecord } from '@photoenhance/contracts';
import { type CallbackSender, taskCallbackPayload } from '@photoenhance/core';
import type { WorkerMetrics } from './metrics.ts';
import type { WorkerLogger } from './ports.ts';

export interface TaskCallbacks {
  sender: CallbackSender;
  /** The API's PUBLIC_BASE_URL, for absolute links in the payload. */
  baseUrl?: string | undefined;
}

export interface FinishedTaskObserverOptions {
  metrics: WorkerMetrics;
  logger: WorkerLogger;
  callbacks?: TaskCallbacks | undefined;
}

function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(s) && s >= 0 ? s : undefined;
}

/**
 * What happens once a task is completed or failed for good: its stage timings and failure code go to the
 * metrics, and its callback_url (if any) gets the signed webhook — sent in the background, so a slow receiver
 * never holds up the next job.
 */
export function createFinishedTaskObserver(options: FinishedTaskObserverOptions) {
  const { metrics, callbacks } = options;

  function observe(record: TaskRecord): void {
    if (record.status === 'completed') {
      for (const [stage, seconds] of Object.entries(record.result?.timings ?? {})) {
        if (Number.isFinite(seconds)) metrics.stageSeconds.observe({ stage }, seconds);
      }
      const wait = secondsBetween(record.createdAt, record.startedAt);
      if (wait !== undefined) metrics.stageSeconds.observe({ stage: 'queue_wait' }, wait);
      const total = secondsBetween(record.createdAt, record.completedAt);
      if (total !== undefined) metrics.stageSeconds.observe({ stage: 'total' }, total);
    } else if (record.status === 'failed') {
      metrics.taskFailures.inc({ code: record.error?.code ?? 'INTERNAL' });
    } else {
      return;
    }
    if (record.callbackUrl && callbacks) {
      const payload = taskCallbackPayload(record, callbacks.baseUrl);
      if (payload) callbacks.sender.send(record.callbackUrl, payload);
    }
  }

  return {
    observe,
  };
}

export type FinishedTaskObserver = ReturnType<typeof createFinishedTaskObserver>;
