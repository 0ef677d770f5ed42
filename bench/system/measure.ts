/**
 * The two client-side measurements: one task's round trip split into phases, and time to first result for a
 * burst of tasks sent one after another.
 */
import { PhotoEnhanceError, type TaskStatusResponse } from '@photoenhance/contracts';
import { downloadResult, uploadImage, type WaitOptions, waitForTerminal } from './task-client.ts';

export interface RoundTrip {
  taskId: string;
  /** POST until the 202 arrived. */
  uploadMs: number;
  /** 202 until the completed state was seen (SSE event or poll answer). */
  waitMs: number;
  /** Download request until the last result byte. */
  downloadMs: number;
  totalMs: number;
  /** Sum of the engine's own stage timings, as reported in the task result. */
  engineMs: number;
  /** totalMs − engineMs: what the system adds around the engine. */
  overheadMs: number;
  /** Task record created → claimed by the worker (server timestamps, millisecond resolution). */
  queueMs: number;
  resultBytes: number;
}

export interface Job {
  apiUrl: string;
  image: Buffer;
  fields: Record<string, string>;
  wait: WaitOptions;
}

function completed(body: TaskStatusResponse): NonNullable<TaskStatusResponse['result']> {
  if (body.status !== 'completed' || !body.result) {
    throw new PhotoEnhanceError('INTERNAL', `task ${body.task_id} ended ${body.status}: ${body.error ?? ''}`);
  }
  return body.result;
}

export async function measureRoundTrip(job: Job): Promise<RoundTrip> {
  const t0 = performance.now();
  const accepted = await uploadImage(job.apiUrl, job.image, job.fields);
  const t1 = performance.now();
  const final = await waitForTerminal(job.apiUrl, accepted.task_id, job.wait);
  const t2 = performance.now();
  const result = completed(final);
  const resultBytes = await downloadResult(job.apiUrl, result.download_url);
  const t3 = performance.now();
  const engineMs = Object.values(result.timings).reduce((sum, s) => sum + s, 0) * 1000;
  const queueMs = final.started_at ? Date.parse(final.started_at) - Date.parse(final.created_at_iso) : Number.NaN;
  return {
    taskId: accepted.task_id,
    uploadMs: t1 - t0,
    waitMs: t2 - t1,
    downloadMs: t3 - t2,
    totalMs: t3 - t0,
    engineMs,
    overheadMs: t3 - t0 - engineMs,
    queueMs,
    resultBytes,
  };
}

export interface Burst {
  count: number;
  /** Time to send all uploads, one after another. */
  uploadsMs: number;
  /** First upload sent → first result fully downloaded. */
  firstResultMs: number;
  /** First upload sent → last result fully downloaded. */
  lastResultMs: number;
  /** Engine time of the first finished task, for comparison. */
  firstEngineMs: number;
}

export async function measureBurst(job: Job, count: number): Promise<Burst> {
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await uploadImage(job.apiUrl, job.image, job.fields)).task_id);
  const uploadsMs = performance.now() - t0;
  const finished = ids.map(async (id) => {
    const result = completed(await waitForTerminal(job.apiUrl, id, job.wait));
    await downloadResult(job.apiUrl, result.download_url);
    const engineMs = Object.values(result.timings).reduce((sum, s) => sum + s, 0) * 1000;
    return { doneMs: performance.now() - t0, engineMs };
  });
  const settled = Promise.all(finished);
  settled.catch(() => undefined); // observed below; keeps a failure during the race from going unhandled
  const first = await Promise.race(finished);
  const all = await settled;
  return {
    count,
    uploadsMs,
    firstResultMs: first.doneMs,
    lastResultMs: Math.max(...all.map((r) => r.doneMs)),
    firstEngineMs: first.engineMs,
  };
}
