import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { logRef } from '../../src/logging/log-refs.ts';
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

describe('log refs instead of ids', () => {
  const taskId = '3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e';
  const batchId = 'a1b2c3d4-e5f6-4a7b-9c8d-0e1f2a3b4c5d';

  function raw(secret?: string, bindings: Record<string, unknown> = {}) {
    const lines: string[] = [];
    const logger = createServiceLogger(
      'api',
      'info',
      bindings,
      { write: (line: string) => void lines.push(line) },
      {
        logRefSecret: secret,
      },
    );
    return { logger, lines };
  }

  it('writes a task_ref/batch_ref field in place of taskId/batchId: HMAC-keyed, stable, the same in every process', () => {
    const secret = 'a-log-ref-secret-of-32-characters';
    const api = raw(secret);
    const worker = raw(secret);
    api.logger.info({ taskId, batchId }, 'task queued');
    worker.logger.warn({ task_id: taskId.toUpperCase() }, 'job failed');
    const first = JSON.parse(api.lines[0] ?? '{}') as Record<string, unknown>;
    const second = JSON.parse(worker.lines[0] ?? '{}') as Record<string, unknown>;
    expect(first.task_ref).toBe(logRef(taskId, secret));
    expect(first.batch_ref).toBe(logRef(batchId, secret));
    expect(first).not.toHaveProperty('taskId');
    expect(second.task_ref).toBe(first.task_ref);
    expect(logRef(taskId, secret)).toMatch(/^[0-9a-f]{12}$/);
    expect(logRef(taskId, secret)).not.toBe(logRef(taskId));
    expect(logRef(taskId)).toBe(createHash('sha256').update(taskId).digest('hex').slice(0, 12));
  });

  it('leaves no id anywhere in a line: messages, bindings, nested fields, storage keys, error stacks, paths', () => {
    const { logger, lines } = raw(undefined, { attempt: taskId });
    const child = logger.child({ current: batchId });
    child.info({ key: `outputs/${taskId}/result.png`, nested: { deep: [taskId.toUpperCase()] } }, `done ${taskId}`);
    child.error({ err: new Error(`NoSuchKey: inputs/${taskId}/photo.jpg`) }, 'read failed');
    child.info({ method: 'GET', path: `/api/v1/tasks/${taskId}/events`, status: 200 }, 'request');
    expect(lines).toHaveLength(3);
    const ref = logRef(taskId);
    for (const line of lines) {
      expect(line.toLowerCase()).not.toContain(taskId);
      expect(line.toLowerCase()).not.toContain(batchId);
      expect(line).toContain(`ref:${ref}`);
    }
    expect(lines[0]).toContain(`outputs/ref:${ref}/*.png`);
    expect(lines[1]).toContain(`inputs/ref:${ref}/*.jpg`);
    expect(lines[2]).toContain(`/api/v1/tasks/ref:${ref}/events`);
  });

  it('keeps only the extension of a file name after an id (names of people often are file names)', () => {
    const { logger, lines } = raw();
    logger.info({ outputKey: `outputs/${taskId}/Jane Doe passport_enhanced.png` }, 'job completed');
    logger.warn(`inputs/${taskId}/jane.doe.jpg could not be read; /api/v1/tasks/${taskId}/events stays`);
    expect(lines.join('')).not.toMatch(/jane|passport/i);
    expect(lines[0]).toContain(`outputs/ref:${logRef(taskId)}/*.png"`);
    expect(lines[1]).toContain(`inputs/ref:${logRef(taskId)}/*.jpg could not be read; /api/v1/tasks/ref:`);
    expect(lines[1]).toContain('/events stays');
  });

  it('hides presigned-URL signatures and credentials', () => {
    const { logger, lines } = raw();
    logger.info(
      { url: 'http://127.0.0.1:4566/b/o.png?X-Amz-Credential=AKIA%2F&X-Amz-Signature=abcdef0123&x-id=GetObject' },
      'fetched',
    );
    expect(lines[0]).not.toContain('abcdef0123');
    expect(lines[0]).not.toContain('AKIA');
    expect(lines[0]).toContain('X-Amz-Signature=[hidden]');
  });
});
