import { PhotoEnhanceError } from '@photoenhance/contracts';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig, workerTimings } from '../src/config.ts';

describe('worker config', () => {
  it('works with no variables at all (embedded defaults) and derives the heartbeat from the visibility timeout', () => {
    const config = loadWorkerConfig({});
    const timings = workerTimings(config);
    expect(timings.waitTimeSeconds).toBe(20);
    expect(timings.heartbeatMs).toBe((config.VISIBILITY_TIMEOUT * 1000) / 3);
    expect(config.EXECUTION_PROVIDERS).toEqual(['cpu']);
  });

  it('refuses an unknown execution provider instead of silently running on CPU (same parser as the CLI)', () => {
    expect(() => loadWorkerConfig({ EXECUTION_PROVIDERS: 'cuda,cpux' })).toThrow(
      /EXECUTION_PROVIDERS: Unknown execution provider\(s\): cpux/,
    );
  });

  it('refuses bad values with one error naming every bad variable', () => {
    let error: unknown;
    try {
      loadWorkerConfig({
        WORKER_WAIT_TIME_SECONDS: '30',
        SQS_ENDPOINT: 'not a url',
        EXECUTION_PROVIDERS: 'cuda;cpu',
        WORKER_ID: 'a b',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PhotoEnhanceError);
    const variables = (error as PhotoEnhanceError).details?.variables as string[];
    expect(variables.sort()).toEqual(['EXECUTION_PROVIDERS', 'SQS_ENDPOINT', 'WORKER_ID', 'WORKER_WAIT_TIME_SECONDS']);
    expect((error as Error).message).toContain('WORKER_WAIT_TIME_SECONDS: must be at most 20');
  });

  it('parses provider lists and explicit heartbeats', () => {
    const config = loadWorkerConfig({ EXECUTION_PROVIDERS: 'CUDA, cpu', WORKER_HEARTBEAT_MS: '1500' });
    expect(config.EXECUTION_PROVIDERS).toEqual(['cuda', 'cpu']);
    expect(workerTimings(config).heartbeatMs).toBe(1500);
  });
});
