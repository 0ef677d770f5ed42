import { pino } from 'pino';

/** JSON logs on stdout (one line per event) for log shippers; `service` tells api and worker lines apart. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}) {
  return pino({ level, base: { service: 'gpu-worker', ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}
