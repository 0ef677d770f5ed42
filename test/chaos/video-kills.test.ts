/**
 * Issue 19 on MinIO + ElasticMQ: a video split into segments over two worker processes, a worker SIGKILLed
 * while it runs a segment (three times, restarted each time), and then the worker whose segment completed the
 * set SIGKILLed as it starts joining the clip (the inline assembly: its segment message's redelivery must join
 * it). The video must complete with every frame at its time, the sound bit for bit, one output object, no
 * segment left behind and both queues empty.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSegmentRepository } from '@photoenhance/core';
import { ffmpegBinaries, probeVideo, runTool } from '@photoenhance/video';
import { makeClip } from '@photoenhance/video/test-clips';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiProc,
  connectScenario,
  figure,
  type Proc,
  scenarioEnv,
  sleep,
  startApi,
  startWorker,
  taskReader,
} from './procs.ts';

const KILLS = 3;
const DEADLINE_MS = 420_000;
const env = scenarioEnv('video-kills', {
  WORKER_LEASE_SECONDS: '5',
  VISIBILITY_TIMEOUT: '30',
  MAX_RECEIVE_COUNT: '8',
  WORKER_RETRY_BACKOFF_SECONDS: '1',
  WORKER_PROGRESS_INTERVAL_MS: '100',
  VIDEO_SEGMENT_FRAMES: '8',
});

let api: ApiProc;
const workers: (Proc | undefined)[] = [undefined, undefined];
let generation = 0;
let dir: string;
let clip: string;

/** The worker killed as it began joining the clip, once the segment kills are done. */
let assemblyKill: { workerId: string; at: number } | undefined;

async function spawnWorker(slot: number): Promise<Proc> {
  const workerId = `v${slot}-g${generation++}`;
  const proc = await startWorker({ ...env, WORKER_ID: workerId });
  workers[slot] = proc;
  // Killed from the log stream itself, the moment the line is out: the joining (segment list, claim, downloads,
  // ffmpeg, upload) is still ahead of it. The test checks that it was: the result is another worker's.
  proc.child.stdout?.on('data', (d: Buffer) => {
    if (assemblyKill || !d.toString().includes('last segment done; assembling')) return;
    assemblyKill = { workerId, at: Date.now() };
    proc.child.kill('SIGKILL');
    void proc.exited.then(() => spawnWorker(slot));
  });
  return proc;
}

async function packetDigest(path: string): Promise<string[]> {
  const { stdout } = await runTool(ffmpegBinaries().ffmpeg, [
    '-v',
    'error',
    '-i',
    path,
    '-map',
    '0:a:0',
    '-c',
    'copy',
    '-f',
    'framemd5',
    'pipe:1',
  ]);
  return stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chaos-video-'));
  // 160×120 through x4fast: a fraction of a second per frame, so a segment of 8 runs long enough to be hit.
  clip = await makeClip(dir, 'no-faststart', { size: '160x120', seconds: 2, file: 'clip.mp4' });
  api = await startApi(env);
  await Promise.all([spawnWorker(0), spawnWorker(1)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([api?.kill('SIGTERM'), ...workers.map((w) => w?.kill('SIGTERM'))]);
  await rm(dir, { recursive: true, force: true });
});

describe('video segments with worker processes killed mid-segment and while joining the clip', () => {
  it(
    `completes after ${KILLS} + 1 SIGKILLs: every frame, the sound, nothing duplicated or left behind`,
    async () => {
      const backend = await connectScenario(env);
      const tasks = taskReader(backend);
      const segments = createSegmentRepository(backend.storage);
      const form = new FormData();
      form.append('file', new File([new Uint8Array(await readFile(clip))], 'clip.mp4', { type: 'video/mp4' }));
      for (const [k, v] of Object.entries({
        scale: '2',
        quality_level: 'fast',
        face: 'false',
        video_preset: 'veryfast',
      }))
        form.append(k, v);
      const res = await fetch(`${api.url}/api/v1/videos`, { method: 'POST', body: form });
      const { task_id: taskId } = (await res.json()) as { task_id: string };
      expect(res.status).toBe(202);

      const t0 = Date.now();
      let kills = 0;
      const killed = new Set<string>();
      for (;;) {
        if (Date.now() - t0 > DEADLINE_MS) throw new Error(`scenario over ${DEADLINE_MS} ms: ${kills} kills`);
        const record = await tasks.read(taskId);
        if (record && ['completed', 'failed', 'cancelled'].includes(record.status)) break;
        if (kills < KILLS) {
          // A victim: a segment part-way through (some frames done), on a worker process that is up.
          const running = (await segments.list(taskId)).filter(
            (s) => s.status === 'running' && s.framesDone > 0 && !killed.has(`${s.index}:${s.attemptId}`),
          );
          for (const segment of running) {
            const slot = workers.findIndex((w) => w?.alive() && w.name.endsWith(segment.workerId ?? '?'));
            const proc = workers[slot];
            if (!proc) continue;
            await proc.kill('SIGKILL');
            kills++;
            killed.add(`${segment.index}:${segment.attemptId}`);
            void spawnWorker(slot);
            break;
          }
        }
        await sleep(150);
      }

      const done = await tasks.read(taskId);
      expect(done?.error).toBeUndefined();
      expect(done?.status).toBe('completed');
      // The joining worker was killed before it finished: the clip was joined by the redelivered segment.
      expect(assemblyKill).toBeDefined();
      expect(done?.workerId).not.toBe(assemblyKill?.workerId);
      expect(Date.parse(done?.completedAt ?? '')).toBeGreaterThan(assemblyKill?.at ?? Number.POSITIVE_INFINITY);
      const out = join(dir, 'result.mp4');
      await writeFile(out, await backend.storage.getBuffer(done?.result?.key ?? ''));
      const [input, result] = await Promise.all([probeVideo(clip), probeVideo(out)]);
      expect(result).toMatchObject({ width: 320, height: 240, frameCount: input.frameCount });
      expect(result.frameTimes).toEqual(input.frameTimes);
      expect(await packetDigest(out)).toEqual(await packetDigest(clip));
      expect((await backend.storage.list(`outputs/${taskId}/`)).length).toBe(1);
      expect(await segments.list(taskId)).toEqual([]);
      const depth = await backend.queue.depth();
      const dlq = await backend.queue.dlqDepth();
      figure('video: worker kills mid-segment', kills);
      figure('video: kill during the inline assembly', assemblyKill ? 1 : 0);
      figure('video: kill scenario wall time', `${Math.round((Date.now() - t0) / 1000)} s`);
      backend.close();
      expect(kills).toBe(KILLS);
      expect(depth.visible + depth.inFlight + dlq.visible + dlq.inFlight).toBe(0);
    },
    DEADLINE_MS + 60_000,
  );
});
