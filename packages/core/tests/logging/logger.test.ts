import { describe, expect, it } from 'vitest';
import { createServiceLogger } from '../../src/logging/logger.ts';

function capture(service: string, bindings: Record<string, unknown> = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createServiceLogger(service, 'info', bindings, {
    write: (line: string) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { logger, lines };
}

describe('createServiceLogger', () => {
  it('writes the same line shape for every service: ISO time, service name, bindings', () => {
    const api = capture('api');
    const worker = capture('gpu-worker', { workerId: 'w1' });
    api.logger.info({ taskId: 't' }, 'task queued');
    worker.logger.info('job done');
    for (const [line, service] of [
      [api.lines[0], 'api'],
      [worker.lines[0], 'gpu-worker'],
    ] as const) {
      expect(line?.service).toBe(service);
      expect(String(line?.time)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    expect(worker.lines[0]?.workerId).toBe('w1');
    expect(api.lines[0]?.msg).toBe('task queued');
  });

  it('redacts credentials in request headers', () => {
    const { logger, lines } = capture('api');
    logger.info({ req: { headers: { authorization: 'Bearer secret', 'x-api-key': 'k', accept: '*/*' } } }, 'request');
    const headers = (lines[0]?.req as { headers: Record<string, string> } | undefined)?.headers ?? {};
    expect(headers.authorization).toBe('[Redacted]');
    expect(headers['x-api-key']).toBe('[Redacted]');
    expect(headers.accept).toBe('*/*');
  });
});
