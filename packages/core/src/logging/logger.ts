import { type DestinationStream, type Logger, pino } from 'pino';
import { createLogScrubber } from './log-refs.ts';

export interface ServiceLoggerOptions {
  /** LOG_REF_SECRET: keys the task/batch refs that stand in for ids (see log-refs.ts); SHA-256 without one. */
  logRefSecret?: string;
}

/**
 * The one log format of every PhotoEnhance process: JSON lines on stdout with an ISO-8601 `time` and a
 * `service` field (api, gpu-worker) that tells lines apart in a shared log stream. Credentials in request
 * headers are redacted; task, batch and upload ids never appear — pino's own formatter and stream-write hook
 * swap them for refs in every line, whatever the call site passes (log-refs.ts).
 */
export function createServiceLogger(
  service: string,
  level: string,
  bindings: Record<string, unknown> = {},
  destination?: DestinationStream,
  options: ServiceLoggerOptions = {},
): Logger {
  const scrubber = createLogScrubber(options.logRefSecret);
  const pinoOptions = {
    level,
    base: { service, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
    formatters: { log: scrubber.renameIdFields },
    hooks: { streamWrite: scrubber.scrubLine },
  };
  return destination ? pino(pinoOptions, destination) : pino(pinoOptions);
}
