import { type Logger, pino } from 'pino';

/** JSON logs on stdout; task ids are added as fields by the routes. */
export function createLogger(level: string, name = 'api'): Logger {
  return pino({ name, level, redact: ['req.headers.authorization', 'req.headers.cookie'] });
}
