/**
 * The chaos suite's process harness: the API and workers as separate OS processes (`start:api`,
 * `start:worker` entry points) on the real MinIO + ElasticMQ that scripts/real-servers started, plus the
 * means to hurt them (SIGKILL of a process, SIGSTOP/SIGCONT or SIGKILL + restart of a server) and to watch
 * them (RSS from /proc). Everything listens on and talks to 127.0.0.1 only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { newId } from '@photoenhance/contracts';
import { type Backend, CommonEnvSchema, connectBackend, createTaskRepository, loadConfig } from '@photoenhance/core';

const API_MAIN = fileURLToPath(new URL('../../services/api/src/server.ts', import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL('../../services/gpu-worker/src/main.ts', import.meta.url));
const START_SH = fileURLToPath(new URL('../../scripts/real-servers/start.sh', import.meta.url));

/** Fails at once (instead of passing vacuously) when the real servers are not there. */
export function realServerEnv(): Record<string, string> {
  const { S3_ENDPOINT, SQS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY } = process.env;
  if (!S3_ENDPOINT || !SQS_ENDPOINT || !AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY) {
    throw new Error('test/chaos needs MinIO + ElasticMQ: run `npm run test:chaos` (scripts/real-servers)');
  }
  for (const url of [S3_ENDPOINT, SQS_ENDPOINT]) {
    const host = new URL(url).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`chaos traffic stays on loopback, not ${host}`);
  }
  return { S3_ENDPOINT, SQS_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, S3_REGION: 'us-east-1' };
}

/** One scenario's own bucket and queues, so scenarios never see each other's objects or jobs. */
export function scenarioEnv(name: string, extra: Record<string, string> = {}): Record<string, string> {
  const suffix = `${name}-${newId().slice(0, 8)}`;
  return {
    ...realServerEnv(),
    S3_BUCKET: `chaos-${suffix}`,
    SQS_QUEUE_NAME: `chaos-jobs-${suffix}`,
    SQS_DLQ_NAME: `chaos-dlq-${suffix}`,
    BOOTSTRAP_RESOURCES: 'true',
    LOG_LEVEL: 'info',
    // CI machines are shared and loaded: the 1.5 s default would turn a slow MinIO answer into a 503 here.
    BACKEND_TIMEOUT_MS: '5000',
    // The fuzzer and the floods send thousands of requests from one address: the rate limiter (tested in
    // test/security) would answer most of them 429 and hide what these scenarios look for.
    RATE_LIMIT_PER_MINUTE: '0',
    ...extra,
  };
}

export async function connectScenario(env: Record<string, string>): Promise<Backend> {
  return connectBackend(loadConfig(CommonEnvSchema, env));
}

export interface Proc {
  name: string;
  child: ChildProcess;
  /** Parsed JSON log lines (pino), in order. */
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  alive(): boolean;
  /** Resident set size in bytes (Linux /proc), 0 once the process is gone. */
  rss(): number;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function launch(name: string, main: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [...args, main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  const onData = (d: Buffer) => {
    buffered += d.toString();
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
      nl = buffered.indexOf('\n');
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    name,
    child,
    lines,
    exited,
    alive: () => !done,
    rss() {
      if (done || !child.pid) return 0;
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
        return kb ? Number(kb) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    async kill(signal = 'SIGKILL') {
      if (done) return;
      child.kill(signal);
      await exited;
    },
  };
}

async function waitForLine(proc: Proc, match: (line: Record<string, unknown>) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = proc.lines.find(match);
    if (found) return found;
    if (!proc.alive()) throw new Error(`${proc.name} exited before it was ready:\n${tail(proc)}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready in ${timeoutMs} ms:\n${tail(proc)}`);
    await sleep(50);
  }
}

export function tail(proc: Proc, n = 15): string {
  return proc.lines
    .slice(-n)
    .map((l) => JSON.stringify(l))
    .join('\n');
}

export interface ApiProc extends Proc {
  url: string;
}

/** `npm run start:api` on a free loopback port; resolves once it listens. */
export async function startApi(env: Record<string, string>, port = 0): Promise<ApiProc> {
  const proc = launch('api', API_MAIN, [], { HOST: '127.0.0.1', PORT: String(port), ...env });
  const line = await waitForLine(proc, (l) => l.msg === 'API listening', 60_000);
  return Object.assign(proc, { url: String(line.url) });
}

/** `npm run start:worker`; resolves once its models are warm and it receives. */
export async function startWorker(env: Record<string, string>, nodeArgs: string[] = []): Promise<Proc> {
  const proc = launch(`worker ${env.WORKER_ID ?? ''}`, WORKER_MAIN, nodeArgs, {
    WORKER_PORT: '0',
    WORKER_HOST: '127.0.0.1',
    WORKER_WAIT_TIME_SECONDS: '1',
    ORT_INTRA_OP_THREADS: '1',
    WORKER_DLQ_REAP_INTERVAL_MS: '1000',
    ...env,
  });
  await waitForLine(proc, (l) => l.msg === 'worker ready; receiving jobs', 90_000);
  return proc;
}

export type ServerName = 'minio' | 'elasticmq';

function runDir(): string {
  const dir = process.env.PE_REAL_RUN_DIR;
  if (!dir) throw new Error('PE_REAL_RUN_DIR is not set (run through npm run test:chaos)');
  return dir;
}

/** SIGSTOP/SIGCONT of a real server by the pid start.sh recorded: a dependency that stops answering. */
export function serverPid(name: ServerName): number {
  return Number(readFileSync(`${runDir()}/${name}.pid`, 'utf8').trim());
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True while the server start.sh recorded is running. */
export function serverAlive(name: ServerName): boolean {
  try {
    return pidAlive(serverPid(name));
  } catch {
    return false;
  }
}

/** Every thread of a process is stopped (state T in /proc): kill() returns before a SIGSTOP has taken effect. */
function allThreadsStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return /^\d+ \(.*\) [Tt] /s.test(stat);
    });
  } catch {
    return false;
  }
}

/**
 * SIGSTOP a real server and wait until every thread of it is stopped, so the next request cannot be answered by
 * a thread the signal had not reached yet. Resolves with when it was frozen; SIGCONT it with thawServer.
 */
export async function freezeServer(name: ServerName, timeoutMs = 5000): Promise<number> {
  const pid = serverPid(name);
  process.kill(pid, 'SIGSTOP');
  const deadline = Date.now() + timeoutMs;
  while (!allThreadsStopped(pid)) {
    if (Date.now() > deadline) throw new Error(`${name} (pid ${pid}) not stopped ${timeoutMs} ms after SIGSTOP`);
    await sleep(10);
  }
  return Date.now();
}

export function thawServer(name: ServerName): void {
  process.kill(serverPid(name), 'SIGCONT');
}

/**
 * A real stop: SIGKILL (a crash, nothing flushed on the way out) and wait until the process is gone, so its
 * port refuses connections. Resolves with when it was gone.
 */
export async function killServer(name: ServerName, timeoutMs = 10_000): Promise<number> {
  const pid = serverPid(name);
  process.kill(pid, 'SIGCONT'); // a frozen process dies on SIGKILL too, but say it plainly
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`${name} (pid ${pid}) still alive ${timeoutMs} ms after SIGKILL`);
    await sleep(20);
  }
  return Date.now();
}

/**
 * Starts a killed server again on the same port and data directory (scripts/real-servers/start.sh NAME, which
 * waits until it answers). Resolves with how long the start took, in ms.
 */
export async function restartServer(name: ServerName, timeoutMs = 120_000): Promise<number> {
  const t0 = Date.now();
  const child = spawn('bash', [START_SH, name], {
    env: { ...process.env, PE_REAL_RUN_DIR: runDir() },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code !== 0) throw new Error(`restarting ${name} failed (exit ${code}):\n${stderr}`);
  return Date.now() - t0;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Task records of a scenario, read straight from its bucket. */
export function taskReader(backend: Backend) {
  return createTaskRepository(backend.storage);
}

/** The suite's own choices (delays, victims) come from one seeded sequence, so a run reproduces. */
export { mulberry32 as seeded } from '@photoenhance/models';

/** Figures the suite prints at the end (and bench/RESULTS.md's Reliability section records). */
export const figures: Record<string, string | number> = {};
export function figure(name: string, value: string | number): void {
  figures[name] = value;
  process.stdout.write(`[chaos] ${name}: ${value}\n`);
}

export interface FormPart {
  name: string;
  value: string | Buffer;
  filename?: string;
}

/**
 * A multipart/form-data POST whose body leaves in `chunkBytes` pieces `delayMs` apart: a slow client, so a
 * process can be killed while the upload streams in. `onBodySent` fires once the last byte has been handed
 * to the connection (the server is then storing and queueing).
 */
export async function slowMultipart(
  url: string,
  parts: FormPart[],
  pace: { chunkBytes: number; delayMs: number },
  onBodySent?: () => void,
): Promise<Response> {
  const boundary = `chaos${newId().replaceAll('-', '')}`;
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"` : ''}`;
    const type = part.filename ? 'Content-Type: application/octet-stream\r\n' : '';
    pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`));
    pieces.push(typeof part.value === 'string' ? Buffer.from(part.value) : part.value, Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  const body = Buffer.concat(pieces);
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (offset >= body.length) {
        controller.close();
        onBodySent?.();
        return;
      }
      if (offset > 0) await sleep(pace.delayMs);
      controller.enqueue(new Uint8Array(body.subarray(offset, offset + pace.chunkBytes)));
      offset += pace.chunkBytes;
    },
  });
  return fetch(url, {
    method: 'POST',
    body: stream,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    duplex: 'half',
  } as RequestInit);
}
