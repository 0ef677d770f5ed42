import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig, workerTimings } from '../src/config.ts';

describe('worker config', () => {
  it('refuses the stand-in engine (benches and tests only) when NODE_ENV=production, in the config and the process', async () => {
    expect(loadWorkerConfig({ WORKER_STANDIN_ENGINE_MS: '50' }).WORKER_STANDIN_ENGINE_MS).toBe(50);
    expect(() => loadWorkerConfig({ WORKER_STANDIN_ENGINE_MS: '50', NODE_ENV: 'production' })).toThrow(
      /WORKER_STANDIN_ENGINE_MS: is a stand-in engine for benches and tests only; it is refused when NODE_ENV=production/,
    );
    // The real entry point exits before connecting to anything.
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const run = promisify(execFile)(process.execPath, [main], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', WORKER_STANDIN_ENGINE_MS: '50' },
      timeout: 30_000,
    });
    const err = (await run.catch((e: unknown) => e)) as { code?: number; stderr?: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/gpu-worker refused to start\..*WORKER_STANDIN_ENGINE_MS.*NODE_ENV=production/s);
  });

  it('works with no variables at all (embedded defaults): a 30 s lease renewed every 10 s, one job at a time', () => {
    const config = loadWorkerConfig({});
    const timings = workerTimings(config);
    expect(timings.waitTimeSeconds).toBe(20);
    expect(config.VISIBILITY_TIMEOUT).toBe(300);
    expect(timings.visibilityTimeoutSeconds).toBe(30);
    expect(timings.heartbeatMs).toBe(10_000);
    expect(timings.concurrency).toBe(1);
    expect(config.EXECUTION_PROVIDERS).toEqual(['cpu']);
    expect(config.RESTORER_CONSTANT_WEIGHTS).toBe(true);
  });

  it('lets a deployment short of memory open restorers as exported, and refuses a value that is not a boolean', () => {
    expect(loadWorkerConfig({ RESTORER_CONSTANT_WEIGHTS: 'false' }).RESTORER_CONSTANT_WEIGHTS).toBe(false);
    expect(() => loadWorkerConfig({ RESTORER_CONSTANT_WEIGHTS: 'sometimes' })).toThrow(
      /RESTORER_CONSTANT_WEIGHTS: must be true or false/,
    );
  });

  it('refuses an unknown execution provider instead of silently running on CPU (same parser as the CLI)', () => {
    expect(() => loadWorkerConfig({ EXECUTION_PROVIDERS: 'cuda,cpux' })).toThrow(
      /EXECUTION_PROVIDERS: Unknown execution provider\(s\): cpux/,
    );
  });

  it('takes the lease and concurrency from the environment, and refuses a concurrency outside 1–10', () => {
    const timings = workerTimings(loadWorkerConfig({ WORKER_LEASE_SECONDS: '6', WORKER_CONCURRENCY: '2' }));
    expect([timings.visibilityTimeoutSeconds, timings.heartbeatMs, timings.concurrency]).toEqual([6, 2000, 2]);
    // A queue visibility shorter than 30 s is the lease when none is given.
    expect(workerTimings(loadWorkerConfig({ VISIBILITY_TIMEOUT: '12' })).visibilityTimeoutSeconds).toBe(12);
    for (const bad of ['0', '11', '1.5', 'two']) {
      expect(() => loadWorkerConfig({ WORKER_CONCURRENCY: bad }), bad).toThrow(/WORKER_CONCURRENCY/);
    }
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
