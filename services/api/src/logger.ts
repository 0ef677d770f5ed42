import { createServiceLogger } from '@photoenhance/core';
import type { Logger } from 'pino';

/** JSON logs on stdout in the format every service shares; task ids are added as fields by the routes. */
export function createLogger(level: string, service = 'api'): Logger {
  return createServiceLogger(service, level);
}
