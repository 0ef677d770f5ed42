import { createServiceLogger } from '@photoenhance/core';
import type { Logger } from 'pino';

/**
 * JSON logs on stdout in the format every service shares. Routes log task ids as fields (`taskId`); the shared
 * logger writes them as refs keyed by LOG_REF_SECRET, never as ids.
 */
export function createLogger(level: string, logRefSecret?: string): Logger {
  return createServiceLogger('api', level, {}, undefined, { logRefSecret });
}
