import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStatus, pollStatus, uploadImage } from '../harness/client.ts';
import { createTestEngine, FAST_FORM } from '../harness/engine.ts';
import { testPhoto } from '../harness/images.ts';
import { type Stack, startStack } from '../harness/stack.ts';

const MAIN = fileURLToPath(new URL('../../services/gpu-worker/src/main.ts', import.meta.url));

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** `npm run start:worker` as a real process against the stack's endpoints; resolves once it logs "ready". */
async function spawnWorker(env: Record<string, string>): Promise<{ child: ChildProcess; logs: string[] }> {
  const c = stack.config;
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      S3_ENDPOINT: c.S3_ENDPOINT ?? '',
      SQS_ENDPOINT: c.SQS_ENDPOINT ?? '',
      S3_BUCKET: c.S3_BUCKET,
      // Real servers (npm run test:real) check credentials; the embedded backend accepts the default ones.
      ...(c.AWS_ACCESS_KEY_ID ? { AWS_ACCESS_KEY_ID: c.AWS_ACCESS_KEY_ID } : {}),
      ...(c.AWS_SECRET_ACCESS_KEY ? { AWS_SECRET_ACCESS_KEY: c.AWS_SECRET_ACCESS_KEY } : {}),
      SQS_QUEUE_NAME: c.SQS_QUEUE_NAME,
      SQS_DLQ_NAME: c.SQS_DLQ_NAME,
      MAX_RECEIVE_COUNT: String(c.MAX_RECEIVE_COUNT),
      WORKER_PORT: '0',
      WORKER_HOST: '127.0.0.1',
      WORKER_WAIT_TIME_SECONDS: '1',
      ORT_INTRA_OP_THREADS: '1',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready:\n${logs.join('')}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      logs.push(d.toString());
      if (d.toString().includes('worker ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${logs.join('')}`));
    });
  });
  return { child, logs };
}

describe('worker process', () => {
  it('refuses to start with bad configuration, naming each bad variable', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', WORKER_WAIT_TIME_SECONDS: '60', VISIBILITY_TIMEOUT: 'soon' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr).toContain('WORKER_WAIT_TIME_SECONDS');
    expect(stderr).toContain('VISIBILITY_TIMEOUT');
  });

  it('on SIGTERM mid-job past the grace period: releases the job and exits 0; the next worker finishes it', async () => {
    const { child, logs } = await spawnWorker({ WORKER_SHUTDOWN_GRACE_MS: '0', VISIBILITY_TIMEOUT: '120' });
    const { body } = await uploadImage(stack.apiUrl, await testPhoto(128, 128), {
      ...FAST_FORM,
      tile_size: '16',
      scale: '1',
    });
    const taskId = body.task_id as string;
    await pollStatus(stack.apiUrl, taskId, { until: ['processing', 'completed', 'failed'], intervalMs: 20 });
    const t0 = Date.now();
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(logs.join('')).toContain('job released to the queue (shutdown)');
    expect((await getStatus(stack.apiUrl, taskId)).status).not.toBe('completed');

    // Released with visibility 0: well within the 120 s timeout another worker completes it.
    const engine = createTestEngine();
    const next = await stack.startWorker({ engine });
    const { final } = await pollStatus(stack.apiUrl, taskId, { until: ['completed', 'failed'], timeoutMs: 60_000 });
    await next.stop();
    await engine.close();
    expect(final.status).toBe('completed');
    expect(final.attempts).toBe(2);
  });

  it('on SIGTERM with the job fitting the grace period: finishes it, then exits 0', async () => {
    const { child } = await spawnWorker({ WORKER_SHUTDOWN_GRACE_MS: '60000' });
    const { body } = await uploadImage(stack.apiUrl, await testPhoto(96, 96), {
      ...FAST_FORM,
      tile_size: '16',
      scale: '1',
    });
    const taskId = body.task_id as string;
    await pollStatus(stack.apiUrl, taskId, { until: ['processing', 'completed', 'failed'], intervalMs: 20 });
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect((await getStatus(stack.apiUrl, taskId)).status).toBe('completed');
  });
});
