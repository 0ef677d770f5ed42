import type { EngineStage, WorkerStage } from '@photoenhance/contracts/choices';
import { INPUT_FORMAT_LABELS } from '@photoenhance/contracts/formats';
import type { TaskStatus } from '@photoenhance/contracts/task-states';
import { ApiError } from './api.ts';

/** Words for every stage (the type makes a new stage a compile error here until it has words). */
const STAGES: Record<EngineStage | WorkerStage | Extract<TaskStatus, 'queued'>, string> = {
  queued: 'Waiting for a worker',
  download: 'Getting the photo',
  decode: 'Reading the photo',
  detect: 'Finding faces',
  upscale: 'Upscaling',
  restore: 'Restoring faces',
  resize: 'Resizing',
  encode: 'Saving the result',
  store: 'Storing the result',
};

export function stageWords(stage: string): string {
  return (STAGES as Record<string, string>)[stage] ?? stage;
}

/** What went wrong, in words for the card; the service's own message follows as the detail. */
export function errorWords(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  switch (err.code) {
    case 'UNSUPPORTED_FORMAT':
      // The service's message lists the same formats: one sentence is enough.
      return `Not an image this service can read (${INPUT_FORMAT_LABELS.join(', ')}).`;
    case 'FILE_TOO_LARGE':
      return `Too large to upload. ${err.message}`;
    case 'TOO_MANY_PIXELS':
    case 'OUTPUT_TOO_LARGE':
      return `Too many pixels. ${err.message}`;
    case 'EMPTY_FILE':
    case 'CORRUPT_IMAGE':
      return `The file is empty or damaged. ${err.message}`;
    case 'EXPIRED':
      return 'Expired: the service has deleted this photo and its result, as it does a set time after each one finishes. Add the photo again to enhance it again.';
    case 'RATE_LIMITED':
    case 'QUOTA_EXCEEDED':
      return `The service is busy with your other photos. ${err.message}`;
    case 'UNAUTHORIZED':
      return 'This service needs an API key: enter it with the “API key” button.';
    case 'NETWORK':
      return `${err.message}. Check the connection and retry.`;
    default:
      return err.message;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatSeconds(seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`;
}

/** A time of day in the viewer's own clock, for "kept until". */
export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
