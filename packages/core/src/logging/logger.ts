import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * The one log format of every PhotoEnhance process: JSON lines on stdout with an ISO-8601 `time` and a
 * `service` field (api, gpu-worker) that tells lines apart in a shared log stream. Credentials in request
 * headers are redacted.
 */
export function createServiceLogger(
  service: string,
  level: string,
  bindings: Record<string, unknown> = {},
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: { service, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
  };
  return destination ? pino(options, destination) : pino(options);
}
