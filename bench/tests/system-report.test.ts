import { describe, expect, it } from 'vitest';
import type { RoundTrip } from '../system/measure.ts';
import { renderMarkdown, type SystemResults, upsertSection } from '../system/report.ts';
import { percentile, summarize } from '../system/stats.ts';

describe('percentile (nearest rank)', () => {
  it('returns measured values: median of an odd and an even sample, p95 of ten is the maximum', () => {
    expect(percentile([5, 1, 3], 50)).toBe(3);
    expect(percentile([4, 1, 3, 2], 50)).toBe(2);
    const ten = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect(percentile(ten, 95)).toBe(100);
    expect(percentile(ten, 90)).toBe(90);
    expect(percentile(ten, 0)).toBe(10);
  });

  it('refuses an empty sample and a percentile outside 0–100', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });

  it('summarize does not reorder its input', () => {
    const sample = [3, 1, 2];
    expect(summarize(sample)).toEqual({ n: 3, p50: 2, p95: 3, min: 1, max: 3 });
    expect(sample).toEqual([3, 1, 2]);
  });
});

describe('upsertSection', () => {
  const engine = '## Engine\n\nengine numbers\n| a | b |\n';

  it('creates a titled document when there is none', () => {
    expect(upsertSection('', '## System', 'sys v1')).toBe('# Benchmark results\n\n## System\n\nsys v1\n');
  });

  it('appends the section after the other sections, keeping them byte for byte', () => {
    const doc = `# Benchmark results\n\n${engine}`;
    const out = upsertSection(doc, '## System', 'sys v1');
    expect(out.startsWith(doc.trimEnd())).toBe(true);
    expect(out.endsWith('## System\n\nsys v1\n')).toBe(true);
  });

  it('replaces only its own section, before or after others, and is stable on a rerun', () => {
    const before = `# R\n\n## System\n\nold\nlines\n\n${engine}`;
    const replaced = upsertSection(before, '## System', 'sys v2');
    expect(replaced).toBe(`# R\n\n## System\n\nsys v2\n\n${engine}`);
    expect(upsertSection(replaced, '## System', 'sys v2')).toBe(replaced);

    const after = `# R\n\n${engine}\n## System\n\nold\n`;
    expect(upsertSection(after, '## System', 'sys v2')).toBe(`# R\n\n${engine}\n## System\n\nsys v2\n`);
  });

  it('keeps ### subsections inside its own section instead of treating them as the next section', () => {
    const doc = '## System\n\n### Overhead\nold\n### Status\nold\n\n## Engine\n\nx\n';
    expect(upsertSection(doc, '## System', '### Overhead\nnew')).toBe(
      '## System\n\n### Overhead\nnew\n\n## Engine\n\nx\n',
    );
  });
});

describe('renderMarkdown', () => {
  const trip = (overheadMs: number): RoundTrip => ({
    taskId: 't',
    uploadMs: 10,
    waitMs: overheadMs,
    downloadMs: 5,
    totalMs: overheadMs + 15,
    engineMs: 15,
    overheadMs,
    queueMs: 3,
    resultBytes: 1,
  });
  const load = (reqPerSec: number, p99: number, failures = 0) => ({
    route: 'GET /api/v1/status/{id}',
    connections: 10,
    durationS: 10,
    requests: reqPerSec * 10,
    reqPerSec,
    latencyMs: { p50: 1, p90: 2, p99, max: p99, mean: 1 },
    failures,
    serverCpuMsPerRequest: 1,
  });
  const results = (overheads: number[], status: ReturnType<typeof load>): SystemResults => ({
    date: 'now',
    machine: { cpu: 'cpu', cores: 2, memoryGiB: 4, node: 'v24', loadAtStart: [1, 2, 3] },
    loadAtEnd: 1,
    setup: { engine: 'e', image: { bytes: 1e6, width: 4, height: 3 }, fields: { scale: '1' } },
    targets: { overheadP50Ms: 150, statusReqPerSec: 1000, statusP99Ms: 50 },
    series: [
      { waitMode: 'sse', roundTrips: overheads.map(trip) },
      { waitMode: 'poll', roundTrips: [trip(1)] },
    ],
    loads: [status],
    burst: { count: 5, uploadsMs: 1, firstResultMs: 2, lastResultMs: 3, firstEngineMs: 1, waitMode: 'sse' },
  });
  const verdicts = (md: string) => md.split('\n').filter((l) => l.startsWith('Target'));

  it('judges overhead on the first series median and status on req/s, p99 and failures', () => {
    const good = verdicts(renderMarkdown(results([100, 140, 900], load(1200, 40))));
    expect(good.map((l) => l.includes('met'))).toEqual([true, true]);
    expect(good[0]).toContain('(140 ms)');

    const bad = verdicts(renderMarkdown(results([100, 160, 170], load(1200, 40, 1))));
    expect(bad.map((l) => l.includes('missed'))).toEqual([true, true]);
    expect(verdicts(renderMarkdown(results([1], load(999, 10))))[1]).toContain('missed');
    expect(verdicts(renderMarkdown(results([1], load(5000, 50))))[1]).toContain('missed');
  });
});
