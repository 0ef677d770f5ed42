/**
 * A discrete-time (1 s) model of the worker autoscaling in infra/src/worker-service.ts: CloudWatch's 1-minute
 * MAXIMUM of the queue metrics (seen `metricLagS` late), a step-scaling policy on ApproximateNumberOfMessagesVisible
 * for scale-out, one on visible + in flight = 0 for `inEvaluationMinutes` for scale-in, each with its cooldown,
 * and GPU hosts that take `startS` from "desired" to "taking jobs" (instance boot, ECS agent, image, warm-up).
 * Scale-in only removes a worker that is idle (ECS managed termination protection drains busy ones first).
 */

export interface ScalingPolicy {
  name: string;
  /** [visible ≥ lower, add n] steps, ascending; the largest matching step applies. */
  outSteps: [number, number][];
  outCooldownS: number;
  inEvaluationMinutes: number;
  /**
   * What must stay at 0 for inEvaluationMinutes before one worker goes: `backlog` = visible + in flight (nothing
   * waits and nothing runs), `visible` = nothing waits (the workers keep up; the one stopped finishes its job
   * first — SIGTERM, WORKER_SHUTDOWN_GRACE_MS).
   */
  inMetric: 'backlog' | 'visible';
  inCooldownS: number;
  minWorkers: number;
  maxWorkers: number;
}

export interface SimulationParams {
  /** From desired to taking jobs (s). */
  startS: number;
  /** CloudWatch delivery lag of the SQS metrics (s). */
  metricLagS: number;
}

export interface SimulationResult {
  policy: string;
  tasks: number;
  waitP50S: number;
  waitP95S: number;
  waitMaxS: number;
  gpuMinutes: number;
  idleGpuMinutes: number;
  peakWorkers: number;
}

/** Mulberry32: a small seeded generator, so every run sees the same trace. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Task {
  arrivalS: number;
  serviceS: number;
}

/**
 * A bursty day-part: a trickle (Poisson, `baseRatePerS`) plus bursts — a user or an integration dropping an album —
 * of 50–300 photos over 1–3 minutes, one every `burstEveryS` on average; service times `serviceS` ± 25 %.
 */
export function burstyTrace(options: {
  seed: number;
  durationS: number;
  baseRatePerS: number;
  burstEveryS: number;
  serviceS: number;
}): Task[] {
  const rand = seeded(options.seed);
  const service = () => options.serviceS * (0.75 + 0.5 * rand());
  const tasks: Task[] = [];
  for (let t = 0; t < options.durationS; t++) {
    if (rand() < options.baseRatePerS) tasks.push({ arrivalS: t, serviceS: service() });
    if (rand() < 1 / options.burstEveryS) {
      const size = 50 + Math.floor(rand() * 250);
      const spread = 60 + Math.floor(rand() * 120);
      for (let i = 0; i < size; i++) tasks.push({ arrivalS: t + rand() * spread, serviceS: service() });
    }
  }
  return tasks.sort((a, b) => a.arrivalS - b.arrivalS);
}

interface Worker {
  readyAtS: number;
  busyUntilS: number;
  /** Told to stop: takes no new job, leaves once its job is done. */
  stopping?: boolean;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);
}

export function simulate(trace: Task[], policy: ScalingPolicy, params: SimulationParams): SimulationResult {
  const end = Math.ceil((trace.at(-1)?.arrivalS ?? 0) + 3600);
  const workers: Worker[] = Array.from({ length: policy.minWorkers }, () => ({ readyAtS: 0, busyUntilS: 0 }));
  const waiting: Task[] = [];
  const waits: number[] = [];
  let next = 0;
  let gpuSeconds = 0;
  let busySeconds = 0;
  let peak = workers.length;
  // Per-minute maxima, as CloudWatch reports them.
  const visibleMax: number[] = [];
  const backlogMax: number[] = [];
  let minuteVisible = 0;
  let minuteBacklog = 0;
  let lastOutS = Number.NEGATIVE_INFINITY;
  let lastInS = Number.NEGATIVE_INFINITY;

  for (let t = 0; t < end; t++) {
    while (next < trace.length && (trace[next] as Task).arrivalS <= t) waiting.push(trace[next++] as Task);
    for (let i = workers.length - 1; i >= 0; i--) {
      const w = workers[i] as Worker;
      if (w.stopping && w.busyUntilS <= t) workers.splice(i, 1);
    }
    for (const w of workers) {
      if (w.stopping || w.readyAtS > t || w.busyUntilS > t) continue;
      const task = waiting.shift();
      if (!task) continue;
      waits.push(t - task.arrivalS);
      w.busyUntilS = t + task.serviceS;
      busySeconds += task.serviceS;
    }
    gpuSeconds += workers.length;
    const inFlight = workers.filter((w) => w.busyUntilS > t).length;
    minuteVisible = Math.max(minuteVisible, waiting.length);
    minuteBacklog = Math.max(minuteBacklog, waiting.length + inFlight);

    if ((t + 1) % 60 === 0) {
      visibleMax.push(minuteVisible);
      backlogMax.push(minuteBacklog);
      minuteVisible = 0;
      minuteBacklog = 0;
    }
    // Alarms evaluate once a minute on the data CloudWatch has by then.
    if (t % 60 === 0 && t >= params.metricLagS) {
      const known = Math.floor((t - params.metricLagS) / 60);
      const visible = visibleMax[known - 1];
      if (visible !== undefined && visible >= 1 && t - lastOutS >= policy.outCooldownS) {
        const step = [...policy.outSteps].reverse().find(([lower]) => visible >= lower);
        const add = Math.min(step?.[1] ?? 0, policy.maxWorkers - workers.filter((w) => !w.stopping).length);
        for (let i = 0; i < add; i++) workers.push({ readyAtS: t + params.startS, busyUntilS: 0 });
        if (add > 0) lastOutS = t;
      }
      const series = policy.inMetric === 'backlog' ? backlogMax : visibleMax;
      const window = series.slice(Math.max(0, known - policy.inEvaluationMinutes), known);
      const active = workers.filter((w) => !w.stopping);
      if (
        window.length === policy.inEvaluationMinutes &&
        window.every((b) => b === 0) &&
        t - lastInS >= policy.inCooldownS &&
        active.length > policy.minWorkers
      ) {
        // ECS stops a task of its choosing; an idle one goes at once, a busy one after its job.
        const victim = active.find((w) => w.busyUntilS <= t) ?? (active[0] as Worker);
        victim.stopping = true;
        lastInS = t;
      }
    }
    peak = Math.max(peak, workers.length);
    if (next >= trace.length && waiting.length === 0 && workers.length <= policy.minWorkers) break;
  }
  waits.sort((a, b) => a - b);
  return {
    policy: policy.name,
    tasks: waits.length,
    waitP50S: percentile(waits, 50),
    waitP95S: percentile(waits, 95),
    waitMaxS: waits.at(-1) ?? 0,
    gpuMinutes: gpuSeconds / 60,
    idleGpuMinutes: (gpuSeconds - busySeconds) / 60,
    peakWorkers: peak,
  };
}
