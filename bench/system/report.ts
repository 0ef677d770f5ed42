/** Machine description, the markdown results table, and the `## System` section of bench/RESULTS.md. */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import type { Burst, RoundTrip } from './measure.ts';
import { summarize } from './stats.ts';
import type { LoadResult } from './status-load.ts';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  /** 1, 5 and 15 minute load averages when the bench started: other work on the machine skews every number. */
  loadAtStart: [number, number, number];
}

export function machineInfo(): MachineInfo {
  const [l1 = 0, l5 = 0, l15 = 0] = loadavg();
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAtStart: [l1, l5, l15],
  };
}

/** One set of sequential round trips, all seeing completion the same way. */
export interface RoundTripSeries {
  /** How completion was seen, in words (SSE and its server-side poll period, or client polling). */
  waitMode: string;
  roundTrips: RoundTrip[];
}

export interface LabelledLoad extends LoadResult {
  route: string;
}

export interface SystemResults {
  date: string;
  machine: MachineInfo;
  loadAtEnd: number;
  setup: {
    engine: string;
    image: { bytes: number; width: number; height: number };
    fields: Record<string, string>;
  };
  targets: { overheadP50Ms: number; statusReqPerSec: number; statusP99Ms: number };
  /** The first series is the one the overhead target is judged on. */
  series: RoundTripSeries[];
  /** The first entry is the status route the target is judged on; others are baselines. */
  loads: LabelledLoad[];
  burst: Burst & { waitMode: string };
}

const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'n/a');
/** Series are named A, B, … in the table and the list above it. */
const letter = (i: number) => String.fromCharCode(65 + i);
const verdict = (ok: boolean) => (ok ? '✅ met' : '❌ missed');

const PHASES: [string, keyof RoundTrip][] = [
  ['upload (POST → 200)', 'uploadMs'],
  ['wait (200 → completed seen)', 'waitMs'],
  ['↳ queued → claimed by the worker', 'queueMs'],
  ['download (all bytes)', 'downloadMs'],
  ['total', 'totalMs'],
  ['engine (reported timings)', 'engineMs'],
  ['**overhead = total − engine**', 'overheadMs'],
];

function overheadTable(series: RoundTripSeries[]): string[] {
  const header = ['phase', ...series.flatMap((_, i) => [`p50 (${letter(i)})`, `p95 (${letter(i)})`])];
  const rows = PHASES.map(([name, key]) => {
    const cells = series.flatMap((s) => {
      const values = s.roundTrips.map((t) => t[key] as number).filter(Number.isFinite);
      if (values.length === 0) return ['n/a', 'n/a'];
      const sum = summarize(values);
      return [ms(sum.p50), ms(sum.p95)];
    });
    return `| ${name} | ${cells.join(' | ')} |`;
  });
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows];
}

export function renderMarkdown(r: SystemResults): string {
  const m = r.machine;
  const load = m.loadAtStart.map((l) => l.toFixed(2)).join(' / ');
  const primary = r.series[0];
  const overheadP50 = primary ? summarize(primary.roundTrips.map((t) => t.overheadMs)).p50 : Number.NaN;
  const status = r.loads[0];
  const statusOk =
    status !== undefined &&
    status.reqPerSec >= r.targets.statusReqPerSec &&
    status.latencyMs.p99 < r.targets.statusP99Ms &&
    status.failures === 0;
  const b = r.burst;
  return [
    `Run ${r.date} — \`npm run bench:system\` on the embedded stack (fauxqs S3 + SQS, API and one worker in one process, loopback).`,
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}; load average at start ${load} (1/5/15 min), ${r.loadAtEnd.toFixed(2)} at the end. The machine is shared with other work, so every CPU-bound number here is pessimistic.`,
    `- Input: ${(r.setup.image.bytes / 1e6).toFixed(2)} MB JPEG (${r.setup.image.width}×${r.setup.image.height}, gradient + noise), form fields ${Object.entries(
      r.setup.fields,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}; engine: ${r.setup.engine}.`,
    '',
    `### Upload → download overhead`,
    '',
    ...r.series.map(
      (s, i) => `- ${letter(i)}: ${s.roundTrips.length} sequential tasks, completion seen by ${s.waitMode}.`,
    ),
    '',
    ...overheadTable(r.series),
    '',
    `Target overhead ≤ ${r.targets.overheadP50Ms} ms p50 (judged on A): ${verdict(overheadP50 <= r.targets.overheadP50Ms)} (${ms(overheadP50)}). p95 is the nearest-rank value of the sample.`,
    '',
    ...r.series.slice(1).map((s, i) => {
      const other = summarize(s.roundTrips.map((t) => t.overheadMs)).p50;
      return `Overhead p50 of ${letter(i + 1)}: ${ms(other)} (${verdict(other <= r.targets.overheadP50Ms)}); A − ${letter(i + 1)} = ${ms(overheadP50 - other)} is what seeing completion that way costs.`;
    }),
    '',
    `### Status endpoint under load (autocannon in a child process)`,
    '',
    '| route | connections | seconds | req/s | p50 | p90 | p99 | max | failures | server CPU / request |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...r.loads.map(
      (l) =>
        `| ${l.route} | ${l.connections} | ${l.durationS.toFixed(0)} | ${Math.round(l.reqPerSec)} | ${l.latencyMs.p50} ms | ${l.latencyMs.p90} ms | ${l.latencyMs.p99} ms | ${l.latencyMs.max} ms | ${l.failures} | ${l.serverCpuMsPerRequest.toFixed(2)} ms |`,
    ),
    '',
    `Target ≥ ${r.targets.statusReqPerSec} req/s with p99 < ${r.targets.statusP99Ms} ms and no failures (judged on the first row): ${verdict(statusOk)}. Server CPU per request is this process's CPU time (API + embedded S3 + idle worker) over the run divided by the requests served; autocannon's own CPU is not in it${status ? `; at ${status.serverCpuMsPerRequest.toFixed(2)} ms the status route tops out near ${Math.round(1000 / status.serverCpuMsPerRequest)} req/s per free core` : ''}.`,
    '',
    `### Time to first result (${b.count} image${b.count === 1 ? '' : 's'} sent one after another to one worker)`,
    '',
    `Completion seen by ${b.waitMode}; times from the first upload to the result's last byte.`,
    '',
    '| all uploads sent | first result | last result | engine time of the first |',
    '|---|---|---|---|',
    `| ${ms(b.uploadsMs)} | ${ms(b.firstResultMs)} | ${ms(b.lastResultMs)} | ${ms(b.firstEngineMs)} |`,
    '',
  ].join('\n');
}

/**
 * Replaces the body of `heading` (up to the next `## ` heading) in a markdown document, or appends the
 * section; other sections are kept byte for byte.
 */
export function upsertSection(doc: string, heading: string, body: string): string {
  const section = `${heading}\n\n${body.trim()}\n`;
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) {
    const base = doc.trimEnd();
    return base ? `${base}\n\n${section}` : `# Benchmark results\n\n${section}`;
  }
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  const before = lines.slice(0, start).join('\n');
  const after = lines.slice(end).join('\n');
  return `${before ? `${before}\n` : ''}${section}${after ? `\n${after}` : ''}`;
}

export async function writeResultsSection(path: string, heading: string, body: string): Promise<void> {
  const doc = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  await writeFile(path, upsertSection(doc, heading, body));
}
