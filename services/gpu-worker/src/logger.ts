import { createServiceLogger } from '@photoenhance/core';

/** JSON logs on stdout in the format every service shares; the worker id is on every line. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}) {
  return createServiceLogger('gpu-worker', level, bindings);
}
