import { setTimeout as sleep } from 'node:timers/promises';
import { isVideoJob, PhotoEnhanceError } from '@photoenhance/contracts';
import { createTaskRepository, keys, type TaskChangeChannel } from '@photoenhance/core';
import type { WorkerTimings } from './config.ts';
import { reapDeadLetters } from './dlq-reaper.ts';
import { createFinishedTaskObserver, type TaskCallbacks } from './finished-tasks.ts';
import { runJob } from './job-runner.ts';
import { createWorkerMetrics, type JobOutcome, type WorkerMetrics } from './metrics.ts';
import {
  type FencingMode,
  JobAbort,
  type VideoWorkerStorage,
  type WorkerEngine,
  type WorkerLogger,
  type WorkerQueue,
  type WorkerStorage,
} from './ports.ts';
import { withChangeNotices } from './task-change-notices.ts';
import { runVideoJob, type VideoRunnerDeps } from './video/video-runner.ts';

export interface CreateWorkerOptions {
  /** Video jobs need the wider VideoWorkerStorage; a worker given only WorkerStorage fails them as retryable. */
  storage: WorkerStorage | VideoWorkerStorage;
  queue: WorkerQueue & { send?: VideoRunnerQueue['send'] };
  engine: WorkerEngine;
  config: WorkerTimings;
  logger: WorkerLogger;
  metrics?: WorkerMetrics;
  /** Client webhooks for tasks with a callback_url (sent after the task is marked completed/failed). */
  callbacks?: TaskCallbacks;
  /**
   * How record writes are fenced (see FencingMode); `auto` (default) asks the store once at start whether it
   * enforces conditional writes. Tests force either path to prove both.
   */
  fencing?: FencingMode | 'auto';
  /** Announces every record write to the API instances (the embedded launcher's in-process channel). */
  taskChanges?: TaskChangeChannel;
  /** Called after each job (tests and the launcher observe the loop through it). */
  onJobDone?: (outcome: JobOutcome, taskId: string | undefined) => void;
}

export interface StopOptions {
  /** Overrides WORKER_SHUTDOWN_GRACE_MS for this stop. */
  graceMs?: number;
  /**
   * Abort a long poll in flight instead of letting it return. Only when the queue itself is going away (the
   * embedded launcher): against a live queue an abandoned poll can swallow a message for a visibility timeout.
   */
  abortReceive?: boolean;
}

export type WorkerState = 'idle' | 'warming' | 'running' | 'stopping' | 'stopped';

type VideoRunnerQueue = VideoRunnerDeps['queue'];

function videoStorage(storage: WorkerStorage | VideoWorkerStorage): VideoWorkerStorage {
  if ('getStream' in storage && 'upload' in storage && 'list' in storage && 'presignGet' in storage) return storage;
  throw new PhotoEnhanceError('INTERNAL', 'This worker was built without video storage access');
}

function videoQueue(queue: CreateWorkerOptions['queue']): VideoRunnerQueue {
  if (!queue.send) throw new PhotoEnhanceError('INTERNAL', 'This worker was built without a queue it can send to');
  return queue as VideoRunnerQueue;
}

/** Back-off after a failed receive, so an unreachable queue is not hammered. */
const RECEIVE_RETRY_MS = [250, 500, 1000, 2000, 5000];

/**
 * The consumer loop: WORKER_CONCURRENCY messages at a time (default 1), models warmed before the first receive. stop() stops receiving
 * at once, lets the current job finish within the grace period, otherwise aborts it and releases the message
 * (visibility 0) so another worker picks it up immediately. kill() simulates a crash: nothing is released.
 */
export function createWorker(options: CreateWorkerOptions) {
  const { storage, queue, engine, logger } = options;
  const tasks = withChangeNotices(createTaskRepository(storage), options.taskChanges);
  const timings = options.config;
  const metrics = options.metrics ?? createWorkerMetrics();
  let state: WorkerState = 'idle';
  let ready = false;
  // stop() sets `stopping`: no new receive starts, and a long poll in flight is allowed to return (its
  // messages are released) — aborting it client-side can leave a message "received" by a request nobody
  // reads, hidden for a whole visibility timeout. The controllers fire only when the grace period is over.
  let stopping = false;
  const receiveController = new AbortController();
  const jobController = new AbortController();
  let loop: Promise<void> | undefined;
  /** Jobs running now, by receipt handle (WORKER_CONCURRENCY of them at most). */
  const running = new Map<string, { taskId: string | undefined; done: Promise<void>; startedAt: number }>();
  let reaperTimer: NodeJS.Timeout | undefined;
  let reaping: Promise<unknown> | undefined;
  const counts: Partial<Record<JobOutcome, number>> = {};
  const finished = createFinishedTaskObserver({ metrics, logger, callbacks: options.callbacks });
  /** warming, idle, busy, stopping or stopped: what registration and the state gauge report. */
  const activity = () =>
    state === 'running' ? (running.size > 0 ? 'busy' : 'idle') : state === 'idle' ? 'warming' : state;
  metrics.bindState(activity);
  const oldest = () => running.values().next().value;
  let fencing: FencingMode = options.fencing === 'conditional' ? 'conditional' : 'read-then-write';

  async function runLoop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      // All slots taken: wait for one to free up before receiving more (never hold messages nobody works on).
      if (running.size >= timings.concurrency) {
        await Promise.race([...running.values()].map((r) => r.done));
        continue;
      }
      let messages: Awaited<ReturnType<WorkerQueue['receive']>>;
      try {
        messages = await queue.receive({
          max: timings.concurrency - running.size,
          waitTimeSeconds: timings.waitTimeSeconds,
          visibilityTimeout: timings.visibilityTimeoutSeconds,
          signal: receiveController.signal,
        });
        failures = 0;
      } catch (err) {
        if (stopping) break;
        const delay = RECEIVE_RETRY_MS[Math.min(failures++, RECEIVE_RETRY_MS.length - 1)] ?? 5000;
        logger.warn({ err, retryInMs: delay }, 'receive failed');
        await sleep(delay, undefined, { signal: receiveController.signal }).catch(() => undefined);
        continue;
      }
      for (const message of messages) {
        // Received during shutdown: hand it straight back rather than start work we may not finish.
        if (stopping) {
          await queue.changeVisibility(message.receiptHandle, 0).catch(() => undefined);
          continue;
        }
        const done = handle(message).finally(() => running.delete(message.receiptHandle));
        running.set(message.receiptHandle, { taskId: message.job?.taskId, done, startedAt: Date.now() });
      }
    }
    // Stopping: the loop ends once the jobs in flight have.
    await Promise.all([...running.values()].map((r) => r.done));
  }

  async function handle(message: Awaited<ReturnType<WorkerQueue['receive']>>[number]): Promise<void> {
    const taskId = message.job?.taskId;
    const end = metrics.jobSeconds.startTimer();
    metrics.busy.set(running.size + 1);
    let outcome: JobOutcome;
    try {
      // Dispatch by message kind: video segments and assembly run in video/, photos in job-runner.ts.
      const job = message.job;
      outcome =
        job && isVideoJob(job)
          ? await runVideoJob(
              { storage: videoStorage(storage), tasks, queue: videoQueue(queue), engine, logger, timings },
              message,
              job,
              jobController.signal,
            )
          : await runJob(
              { storage, tasks, queue, engine, logger, timings, fencing, onFinished: finished.observe },
              message,
              jobController.signal,
            );
    } catch (err) {
      // Storage/queue down while settling: the message stays in the queue and comes back after its visibility.
      logger.error({ err, taskId }, 'job could not be settled; leaving it to redelivery');
      outcome = 'retry';
    } finally {
      metrics.busy.set(Math.max(0, running.size - 1));
      end();
    }
    metrics.jobs.inc({ outcome });
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    options.onJobDone?.(outcome, taskId);
  }

  function startReaper(): void {
    if (timings.dlqReapIntervalMs <= 0) return;
    reaperTimer = setInterval(() => {
      if (reaping) return;
      reaping = reapDeadLetters({ tasks, queue, logger, onTaskFailed: finished.observe })
        .then((n) => n > 0 && logger.info({ count: n }, 'dead letters reaped'))
        .catch((err: unknown) => logger.warn({ err }, 'dead-letter reaping failed'))
        .finally(() => {
          reaping = undefined;
        });
    }, timings.dlqReapIntervalMs);
  }

  return {
    metrics,
    /** Warms the models, then starts the receive loop; resolves once the loop runs. */
    async start(): Promise<void> {
      if (state !== 'idle') throw new Error(`worker already ${state}`);
      state = 'warming';
      logger.info({}, 'warming up models');
      const t0 = Date.now();
      await engine.warmUp();
      if (options.fencing === undefined || options.fencing === 'auto') {
        // Once per process: a store that enforces If-Match saves the record read before every write.
        const supported = await storage.probeConditionalWrites(keys.conditionalWriteProbe);
        fencing = supported ? 'conditional' : 'read-then-write';
      }
      logger.info({ fencing }, 'record writes fenced');
      if (stopping) return;
      ready = true;
      metrics.ready.set(1);
      state = 'running';
      logger.info({ warmUpMs: Date.now() - t0 }, 'worker ready; receiving jobs');
      loop = runLoop().catch((err: unknown) => logger.error({ err }, 'worker loop crashed'));
      startReaper();
    },

    async stop(stopOptions: StopOptions = {}): Promise<void> {
      if (state === 'stopped' || state === 'stopping') return loop;
      state = 'stopping';
      stopping = true;
      ready = false;
      metrics.ready.set(0);
      clearInterval(reaperTimer);
      const grace = stopOptions.graceMs ?? timings.shutdownGraceMs;
      if (stopOptions.abortReceive) receiveController.abort(new JobAbort('shutdown'));
      if (running.size > 0) {
        logger.info(
          { tasks: [...running.values()].map((r) => r.taskId), graceMs: grace },
          'stopping: letting the current jobs finish',
        );
      }
      // The loop ends after the current job (or the long poll in flight, at most WaitTimeSeconds).
      const graceTimer = new AbortController();
      const finished = await Promise.race([
        (loop ?? Promise.resolve()).then(() => true),
        sleep(grace, false, { signal: graceTimer.signal }).catch(() => false),
      ]);
      graceTimer.abort();
      if (!finished) {
        if (running.size > 0)
          logger.warn({ tasks: running.size }, 'grace period over: aborting the jobs and releasing their messages');
        jobController.abort(new JobAbort('shutdown'));
        receiveController.abort(new JobAbort('shutdown'));
      }
      await loop;
      await reaping;
      state = 'stopped';
      logger.info({}, 'worker stopped');
    },

    /** Crash simulation (tests): abandon the current job without writing or releasing anything. */
    async kill(): Promise<void> {
      state = 'stopping';
      stopping = true;
      ready = false;
      clearInterval(reaperTimer);
      jobController.abort(new JobAbort('killed'));
      receiveController.abort(new JobAbort('killed'));
      await loop;
      await reaping;
      state = 'stopped';
    },

    isReady: () => ready,
    activity,
    state: () => state,
    /** The oldest running job's task id, for the signed registration heartbeat only (operator-only listing). */
    currentTaskId: () => oldest()?.taskId ?? null,
    /** What /health shows: counts and ages, never task ids (anyone who can reach the port could read them). */
    describe: () => ({
      workerId: timings.workerId,
      state,
      fencing,
      ready,
      running: running.size,
      currentForMs: running.size > 0 ? Date.now() - (oldest()?.startedAt ?? Date.now()) : null,
      jobs: { ...counts },
    }),
  };
}

export type Worker = ReturnType<typeof createWorker>;
