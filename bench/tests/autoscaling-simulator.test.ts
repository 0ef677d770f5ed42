import { describe, expect, it } from 'vitest';
import { burstyTrace, type ScalingPolicy, simulate } from '../autoscaling/simulator.ts';

const policy: ScalingPolicy = {
  name: 'test',
  outSteps: [
    [1, 1],
    [10, 2],
  ],
  outCooldownS: 60,
  inEvaluationMinutes: 5,
  inMetric: 'backlog',
  inCooldownS: 60,
  minWorkers: 0,
  maxWorkers: 3,
};

describe('autoscaling simulator', () => {
  it('one photo on a cold fleet waits for the metric, the alarm and the host start, then the fleet shrinks back', () => {
    const result = simulate([{ arrivalS: 0, serviceS: 10 }], policy, { startS: 240, metricLagS: 60 });
    // Seen in minute 0's data at t = 120 (60 s lag, evaluated on whole minutes), ready 240 s later.
    expect(result.waitP95S).toBe(360);
    // A cooldown (60 s) shorter than the host start (240 s): the alarm fires again each minute the photo still
    // waits, so one photo brings up 3 hosts (the max) — what real step scaling does too.
    expect(result.peakWorkers).toBe(3);
    // Billed from t = 120 until 5 idle minutes (as CloudWatch sees them) removed it.
    expect(result.gpuMinutes).toBeGreaterThan(result.idleGpuMinutes);
    expect(result.idleGpuMinutes).toBeGreaterThan(5);
  });

  it('never runs more than maxWorkers, and every photo of a burst is served', () => {
    const trace = burstyTrace({ seed: 1, durationS: 3600, baseRatePerS: 0.01, burstEveryS: 900, serviceS: 6 });
    const result = simulate(trace, policy, { startS: 120, metricLagS: 60 });
    expect(result.tasks).toBe(trace.length);
    expect(result.peakWorkers).toBeLessThanOrEqual(3);
  });

  it('a trickle keeps a "nothing waiting or running" fleet up, where "nothing waiting" lets it shrink', () => {
    const trace = burstyTrace({ seed: 7, durationS: 4 * 3600, baseRatePerS: 0.01, burstEveryS: 3600, serviceS: 6 });
    const params = { startS: 240, metricLagS: 60 };
    const backlog = simulate(trace, { ...policy, inEvaluationMinutes: 10 }, params);
    const visible = simulate(trace, { ...policy, inEvaluationMinutes: 10, inMetric: 'visible' }, params);
    expect(visible.idleGpuMinutes).toBeLessThan(backlog.idleGpuMinutes);
  });
});
