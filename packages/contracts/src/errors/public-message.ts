import type { ErrorCode } from './errors.ts';

/**
 * What a client may read of an error (issue 17 §4): storage, queue and internal failures say what happened in
 * plain words, never the object key, bucket layout or SDK error name behind them (those stay in the logs); a
 * storage key left in any other message is replaced. Every client-facing error — HTTP bodies, task status,
 * batch views, webhooks — goes through this one function.
 */
const PUBLIC_MESSAGES: Partial<Record<string, string>> = {
  STORAGE_ERROR: 'Storage is unavailable or refused the request; try again shortly',
  QUEUE_ERROR: 'The job queue is unavailable; try again shortly',
  INTERNAL: 'Internal server error',
};
const STORAGE_KEY = /\b(?:inputs|outputs|tasks|batches|uploads|workers|replays)\/[^\s"'`,;)]+/g;

export function publicErrorMessage(code: ErrorCode | string, message: string): string {
  return PUBLIC_MESSAGES[code] ?? message.replace(STORAGE_KEY, '(stored object)');
}
