/**
 * Load on one GET route with autocannon, run as a child process: in this process it would share the event
 * loop with the API it measures and skew both sides.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { z } from 'zod';

/** The parts of autocannon's --json report we use (latency in ms, requests per second). */
const AutocannonReportSchema = z.object({
  duration: z.number(),
  errors: z.number(),
  timeouts: z.number(),
  non2xx: z.number(),
  requests: z.object({ total: z.number() }),
  latency: z.object({ p50: z.number(), p90: z.number(), p99: z.number(), max: z.number(), average: z.number() }),
});

export interface LoadResult {
  connections: number;
  durationS: number;
  requests: number;
  reqPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Connection errors + timeouts + non-2xx answers. */
  failures: number;
  /**
   * CPU time this process (the server side when the stack runs in-process) spent per request: unlike req/s it
   * hardly depends on what else the machine is doing. 1000 / it ≈ req/s one free core could serve.
   */
  serverCpuMsPerRequest: number;
}

export async function runGetLoad(
  url: string,
  options: { connections: number; durationS: number },
): Promise<LoadResult> {
  const cli = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  const args = [cli, '--json', '-c', String(options.connections), '-d', String(options.durationS), url];
  const cpuBefore = process.cpuUsage();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // Bounded even if autocannon hangs: its own duration plus a margin.
    const timer = setTimeout(() => child.kill('SIGKILL'), (options.durationS + 30) * 1000);
    child.on('error', (cause) => {
      clearTimeout(timer);
      reject(new PhotoEnhanceError('INTERNAL', 'autocannon could not start', { cause }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else
        reject(
          new PhotoEnhanceError(
            'INTERNAL',
            `autocannon exited with ${signal ?? code}: ${Buffer.concat(err).toString('utf8').slice(-500)}`,
          ),
        );
    });
  });
  const cpu = process.cpuUsage(cpuBefore);
  let report: z.infer<typeof AutocannonReportSchema>;
  try {
    report = AutocannonReportSchema.parse(JSON.parse(stdout));
  } catch (cause) {
    throw new PhotoEnhanceError('INTERNAL', 'autocannon printed an unexpected report', { cause });
  }
  return {
    connections: options.connections,
    durationS: report.duration,
    requests: report.requests.total,
    reqPerSec: report.requests.total / report.duration,
    latencyMs: {
      p50: report.latency.p50,
      p90: report.latency.p90,
      p99: report.latency.p99,
      max: report.latency.max,
      mean: report.latency.average,
    },
    failures: report.errors + report.timeouts + report.non2xx,
    serverCpuMsPerRequest:
      report.requests.total > 0 ? (cpu.user + cpu.system) / 1000 / report.requests.total : Number.NaN,
  };
}
