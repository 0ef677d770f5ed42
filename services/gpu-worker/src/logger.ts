import { createServiceLogger } from '@photoenhance/core';

/** The shared JSON log format; task ids are written as refs keyed by LOG_REF_SECRET (see the core logger). */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, logRefSecret?: string) {
  return createServiceLogger('gpu-worker', level, bindings, undefined, { logRefSecret });
}
