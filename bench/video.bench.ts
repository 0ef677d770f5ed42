/**
 * Video benchmark (not a test), `npm run bench:video`:
 *  1. per-frame cost of the video path vs the photo path on the same frames (one process, one ORT thread):
 *     photo = engine.enhance() of each frame as a PNG; video = processSegment (decode → enhanceFrame →
 *     encode) over the clip. Goal: video ≤ 1.1× the photo path's engine time.
 *  2. fan-out: one clip in `--segments` segments of `--segment-frames` frames on N = 1, 2, 4, 8 worker
 *     processes with a stand-in frame stage of fixed cost (a sleep: what a GPU worker's host does while its GPU
 *     works, no CPU; bench/system/video-worker.ts), so coordination (queue, storage, decode/encode, assembly) is
 *     what is measured; efficiency = T(1) / (N · T(N)), goal ≥ 0.9. Each segment should stand for seconds of
 *     GPU work and each worker get several segments (the tail: the last round leaves workers idle). Per run it
 *     prints the CPU seconds of every process (workers with their ffmpeg children, and this process, which
 *     hosts the embedded S3+SQS) per segment, the load average, and where a segment job's time went (the
 *     worker's per-step spans), so a bend is explained: coordination, or a machine out of cores.
 *  3. the real engine: 2 worker processes × 1 ORT thread vs 1 × 1.
 * Prints a markdown section; --write puts it in bench/RESULTS.md under `## Video` (replacing an older one).
 *
 *   npm run bench:video -- --frame-ms 250 --segments 32 --segment-frames 8 --write
 *   npm run bench:video -- --parts fanout --workers 1,2     (one part only)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EnhanceOptionsSchema, newId } from '@photoenhance/contracts';
import {
  type Backend,
  CommonEnvSchema,
  connectBackend,
  createTaskRepository,
  embeddedEnv,
  keys,
  loadConfig,
  startEmbeddedBackend,
} from '@photoenhance/core';
import { createEngine } from '@photoenhance/engine';
import {
  decodeFrames,
  ffmpegBinaries,
  outputFrameSize,
  probeVideo,
  processSegment,
  runTool,
} from '@photoenhance/video';
import sharp from 'sharp';
import { submitVideo } from '../services/api/src/routes/videos/submit-video.ts';
import { cpuFlags, median } from './measure.ts';

const { values: args } = parseArgs({
  options: {
    'frame-ms': { type: 'string', default: '250' },
    segments: { type: 'string', default: '32' },
    'segment-frames': { type: 'string', default: '8' },
    workers: { type: 'string', default: '1,2,4,8' },
    parts: { type: 'string', default: 'perframe,fanout,real' },
    write: { type: 'boolean', default: false },
  },
});
const frameMs = Number(args['frame-ms']);
const fanOut = String(args.workers).split(',').map(Number);
const segmentCount = Number(args.segments);
const segmentFrames = Number(args['segment-frames']);
const parts = new Set(String(args.parts).split(','));
const WORKER = fileURLToPath(new URL('./system/video-worker.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

async function makeClip(path: string, size: string, seconds: number): Promise<string> {
  await runTool(ffmpegBinaries().ffmpeg, [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=24:duration=${seconds}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'veryfast'],
    ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', path],
  ]);
  return path;
}

/** 1: the same frames through engine.enhance (PNG in/out) and through the video path. */
async function perFrame(dir: string) {
  const clip = await makeClip(join(dir, 'frames.mp4'), '160x120', 1);
  const probe = await probeVideo(clip);
  const engine = createEngine({ runtime: { executionProviders: ['cpu'], intraOpThreads: 1 } });
  const options = { scale: 2, quality: 'fast', face: { enabled: false } } as const;
  await engine.warmUp(options);
  const pngs: Buffer[] = [];
  for await (const f of decodeFrames(clip, probe, { start: 0, count: probe.frameCount })) {
    pngs.push(
      await sharp(Buffer.from(f.data), { raw: { width: f.width, height: f.height, channels: 3 } })
        .png()
        .toBuffer(),
    );
  }
  const rounds = 3;
  const photo: number[] = [];
  const video: number[] = [];
  const videoEngine: number[] = [];
  const size = outputFrameSize(probe, 2);
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    for (const png of pngs) await engine.enhance(png, { ...options, output: { format: 'png' } });
    photo.push((performance.now() - t) / pngs.length);
    let inEngine = 0;
    t = performance.now();
    await processSegment({
      input: clip,
      probe,
      start: 0,
      count: probe.frameCount,
      width: size.width,
      height: size.height,
      output: { codec: 'h264', crf: 18, preset: 'medium' },
      path: join(dir, 'out.mp4'),
      enhance: async (frame) => {
        const t0 = performance.now();
        const out = await engine.enhanceFrame(frame, options);
        inEngine += performance.now() - t0;
        return out.frame.data;
      },
    });
    video.push((performance.now() - t) / probe.frameCount);
    videoEngine.push(inEngine / probe.frameCount);
  }
  await engine.close();
  return { frames: probe.frameCount, photo: median(photo), video: median(video), videoEngine: median(videoEngine) };
}

interface WorkerProc {
  kill(): Promise<void>;
  ready: Promise<void>;
  /** CPU seconds of the process and its waited-for children (ffmpeg) so far, from /proc (Linux). */
  cpuSeconds(): Promise<number>;
  /** `spansMs` of every segment job this worker logged (video-runner.ts). */
  segmentSpans: Record<string, number>[];
  /** `spansMs` of every assembly this worker logged ('video assembled'). */
  assemblySpans: Record<string, number>[];
}

/** USER_HZ: the unit of /proc/<pid>/stat times (100 on every Linux this runs on). */
const CLOCK_TICKS = 100;

async function procCpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces): state is field 3, utime..cstime are 14..17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? Number.NaN), 0);
  return ticks / CLOCK_TICKS;
}

function spawnWorker(env: Record<string, string>): WorkerProc {
  const child = spawn(process.execPath, [WORKER], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let line = '';
  const segmentSpans: Record<string, number>[] = [];
  const assemblySpans: Record<string, number>[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      if (out.includes('worker ready; receiving jobs')) resolve();
      const lines = (line + d.toString()).split('\n');
      line = lines.pop() ?? '';
      for (const l of lines) {
        const into = l.includes('video-segment job done')
          ? segmentSpans
          : // 'video-assemble job done': the assemble job's own line, the spans a worker before the inline
            // assembly logged (so the same bench measures both).
            l.includes('video assembled') || l.includes('video-assemble job done')
            ? assemblySpans
            : null;
        if (!into) continue;
        const spans = (JSON.parse(l) as { spansMs?: Record<string, number> }).spansMs;
        if (spans) into.push(spans);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${out.slice(-2000)}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    ready,
    segmentSpans,
    assemblySpans,
    cpuSeconds: () => procCpuSeconds(child.pid),
    async kill() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface FleetRun {
  n: number;
  seconds: number;
  /** CPU seconds of the workers (with ffmpeg) and of this process (embedded S3+SQS, the poller), per segment. */
  workerCpuPerSegment: number;
  backendCpuPerSegment: number;
  load: [number, number];
  /** Median ms per step of the segment jobs. */
  spans: Record<string, number>;
  /**
   * The fixed per-video tail, ms: submission → the first segment's start (the record's startedAt), the
   * assembly's spans (sinceLastSegment: last segment done → joining starts), completed → seen by the poller.
   */
  tail: Record<string, number>;
}

function medianSpans(all: Record<string, number>[]): Record<string, number> {
  const names = [...new Set(all.flatMap((s) => Object.keys(s)))];
  return Object.fromEntries(names.map((n) => [n, median(all.map((s) => s[n] ?? 0))]));
}

/** Wall time of one clip from submission to completed on `n` worker processes. */
async function runFleet(
  n: number,
  base: Record<string, string>,
  clip: string,
  options: { enhance: Record<string, unknown>; segmentFrames: number; extraEnv: Record<string, string> },
): Promise<FleetRun> {
  const suffix = newId().slice(0, 8);
  const env = { ...base, SQS_QUEUE_NAME: `bench-${suffix}`, SQS_DLQ_NAME: `bench-dlq-${suffix}`, ...options.extraEnv };
  const backend: Backend = await connectBackend(loadConfig(CommonEnvSchema, { ...env, BOOTSTRAP_RESOURCES: 'true' }));
  const workers = Array.from({ length: n }, (_, i) => spawnWorker({ ...env, WORKER_ID: `bench-${suffix}-${i}` }));
  try {
    await Promise.all(workers.map((w) => w.ready));
    const probe = await probeVideo(clip);
    const taskId = newId();
    const inputKey = keys.input(taskId, 'clip.mp4');
    const bytes = await readFile(clip);
    await backend.storage.put(inputKey, bytes, { contentType: 'video/mp4' });
    const tasks = createTaskRepository(backend.storage);
    const cpu0 = await Promise.all(workers.map((w) => w.cpuSeconds()));
    const own0 = process.cpuUsage();
    const load0 = loadavg()[0] ?? 0;
    const t0 = performance.now();
    const submitted = await submitVideo(
      { queue: backend.queue, tasks },
      {
        taskId,
        inputKey,
        filename: 'clip.mp4',
        bytes: bytes.length,
        probe,
        options: EnhanceOptionsSchema.parse(options.enhance),
        output: { codec: 'h264', crf: 18, preset: 'veryfast' },
        smoothFaces: false,
        segmentFrames: options.segmentFrames,
      },
    );
    const submitMs = performance.now() - t0;
    let completed: Awaited<ReturnType<typeof tasks.read>> = null;
    for (;;) {
      const r = await tasks.read(taskId);
      if (r?.status === 'completed') {
        completed = r;
        break;
      }
      if (r && ['failed', 'cancelled'].includes(r.status))
        throw new Error(`bench video ${r.status}: ${r.error?.message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (performance.now() - t0) / 1000;
    const seenAt = Date.now();
    const created = Date.parse(completed?.createdAt ?? '');
    // The worker logs the assembly just after writing `completed`: its line may still be on the way.
    const assemblyLogged = () => workers.flatMap((w) => w.assemblySpans);
    for (let i = 0; i < 100 && assemblyLogged().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const assembly = assemblyLogged();
    if (assembly.length !== 1) throw new Error(`expected one assembly log line, got ${assembly.length}`);
    const tail = {
      submit: submitMs,
      submitToFirstSegment: Date.parse(completed?.startedAt ?? '') - created,
      ...Object.fromEntries(Object.entries(assembly[0] ?? {}).map(([k, v]) => [`assemble.${k}`, v])),
      completedToSeen: seenAt - Date.parse(completed?.completedAt ?? ''),
    };
    const segments = submitted.video?.segments.length ?? Number.NaN;
    const cpu1 = await Promise.all(workers.map((w) => w.cpuSeconds()));
    const own = process.cpuUsage(own0);
    const workerCpu = cpu1.reduce((sum, c, i) => sum + c - (cpu0[i] ?? 0), 0);
    return {
      n,
      seconds,
      workerCpuPerSegment: workerCpu / segments,
      backendCpuPerSegment: (own.user + own.system) / 1e6 / segments,
      load: [load0, loadavg()[0] ?? 0],
      spans: medianSpans(workers.flatMap((w) => w.segmentSpans)),
      tail,
    };
  } finally {
    await Promise.all(workers.map((w) => w.kill()));
    backend.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'pe-bench-video-'));
const embedded = await startEmbeddedBackend({ dataDir: join(dir, 'data'), port: 0 });
const base = {
  ...embeddedEnv(embedded),
  S3_ENDPOINT: embedded.s3Endpoint,
  SQS_ENDPOINT: embedded.sqsEndpoint,
  LOG_LEVEL: 'info',
  WORKER_PORT: '0',
  WORKER_HOST: '127.0.0.1',
  WORKER_WAIT_TIME_SECONDS: '1',
  WORKER_PROGRESS_INTERVAL_MS: '1000',
  ORT_INTRA_OP_THREADS: '1',
};
try {
  const load0 = loadavg()[0] ?? 0;
  const lines = [
    '## Video',
    '',
    `\`npm run bench:video -- --frame-ms ${frameMs} --segments ${segmentCount} --segment-frames ${segmentFrames}\` on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores; ${await cpuFlags()}), load average at the start ${load0.toFixed(1)} (a shared machine: other jobs ran meanwhile).`,
    '',
  ];
  if (parts.has('perframe')) {
    const pf = await perFrame(dir);
    lines.push(
      `Per frame, ${pf.frames} frames of 160×120 at scale 2 (x4fast, 1 ORT thread, faces off, median of 3):`,
      '',
      '| path | ms per frame | × photo engine |',
      '|---|---|---|',
      `| photo: engine.enhance(PNG) | ${pf.photo.toFixed(1)} | 1.00 |`,
      `| video: enhanceFrame alone | ${pf.videoEngine.toFixed(1)} | ${(pf.videoEngine / pf.photo).toFixed(2)} |`,
      `| video: decode → enhanceFrame → encode (processSegment) | ${pf.video.toFixed(1)} | ${(pf.video / pf.photo).toFixed(2)} |`,
      '',
    );
  }
  if (parts.has('fanout')) {
    const frames = segmentCount * segmentFrames;
    const standinClip = await makeClip(join(dir, 'fleet.mp4'), '64x48', frames / 24);
    const fleet: FleetRun[] = [];
    for (const n of fanOut) {
      const r = await runFleet(n, base, standinClip, {
        enhance: { scale: 1, face: { enabled: false } },
        segmentFrames,
        extraEnv: { BENCH_FRAME_MS: String(frameMs) },
      });
      process.stderr.write(
        `N=${n}: ${r.seconds.toFixed(1)} s, segment spans ${JSON.stringify(r.spans)}, tail ${JSON.stringify(r.tail)}\n`,
      );
      fleet.push(r);
    }
    const t1 = fleet.find((f) => f.n === 1)?.seconds ?? Number.NaN;
    const standin = (segmentFrames * frameMs) / 1000;
    const spanNames = [...new Set(fleet.flatMap((f) => Object.keys(f.spans)))];
    const tailNames = [...new Set(fleet.flatMap((f) => Object.keys(f.tail)))];
    lines.push(
      `Fan-out: ${frames} frames (64×48, 24 fps) in ${segmentCount} segments of ${segmentFrames}, stand-in frame stage of ${frameMs} ms (a sleep: ${standin.toFixed(1)} s of "GPU" per segment, ${(segmentCount * standin).toFixed(1)} s in all), N worker processes. CPU s per segment: all worker processes with their ffmpeg children / this process (embedded S3+SQS and the status poller):`,
      '',
      '| workers | wall s | speed-up | efficiency T1/(N·TN) | worker CPU s/segment | backend CPU s/segment | load avg before → after |',
      '|---|---|---|---|---|---|---|',
      ...fleet.map(
        (f) =>
          `| ${f.n} | ${f.seconds.toFixed(1)} | ${(t1 / f.seconds).toFixed(2)} | ${(t1 / (f.n * f.seconds)).toFixed(2)} | ${f.workerCpuPerSegment.toFixed(3)} | ${f.backendCpuPerSegment.toFixed(3)} | ${f.load[0].toFixed(1)} → ${f.load[1].toFixed(1)} |`,
      ),
      '',
      "Where a segment job's wall time goes (median ms over the segments, the worker's `spansMs` log field):",
      '',
      `| workers | ${spanNames.join(' | ')} |`,
      `|---|${spanNames.map(() => '---|').join('')}`,
      ...fleet.map((f) => `| ${f.n} | ${spanNames.map((n) => (f.spans[n] ?? 0).toFixed(0)).join(' | ')} |`),
      '',
      "The fixed per-video tail, ms (one video per row): `submit` (segment jobs sent, record written), submission → first segment started (the record's startedAt), the assembly's own spans (`sinceLastSegment`: last segment's done record → joining starts; `input` and `segments` download side by side), completed → seen by this process's 50 ms poll:",
      '',
      `| workers | ${tailNames.join(' | ')} |`,
      `|---|${tailNames.map(() => '---|').join('')}`,
      ...fleet.map((f) => `| ${f.n} | ${tailNames.map((n) => (f.tail[n] ?? 0).toFixed(0)).join(' | ')} |`),
      '',
      'Before the segment path was reworked (192 frames in 16 segments of 12, 100 ms stand-in, same machine): efficiency 0.73 / 0.38 / 0.25 at N = 2 / 4 / 8, and 35.7 s at N = 1 for 19.2 s of stand-in.',
      '',
    );
  }
  if (parts.has('real')) {
    const realClip = await makeClip(join(dir, 'real.mp4'), '160x120', 2);
    const real = { enhance: { scale: 2, quality: 'fast', face: { enabled: false } }, segmentFrames: 8, extraEnv: {} };
    const real1 = await runFleet(1, base, realClip, real);
    const real2 = await runFleet(2, base, realClip, real);
    lines.push(
      `Real engine, 48 frames of 160×120 at scale 2 (x4fast), segments of 8: 1 worker × 1 thread ${real1.seconds.toFixed(1)} s, 2 workers × 1 thread ${real2.seconds.toFixed(1)} s (speed-up ${(real1.seconds / real2.seconds).toFixed(2)}; worker CPU s per segment ${real1.workerCpuPerSegment.toFixed(1)} vs ${real2.workerCpuPerSegment.toFixed(1)}, load ${real2.load[0].toFixed(1)} → ${real2.load[1].toFixed(1)}).`,
      '',
    );
  }
  const section = lines.join('\n');
  process.stdout.write(`${section}\n`);
  if (args.write) {
    const text = await readFile(RESULTS, 'utf8');
    const start = text.indexOf('\n## Video\n');
    const next = start >= 0 ? text.indexOf('\n## ', start + 1) : -1;
    const updated =
      start >= 0
        ? `${text.slice(0, start + 1)}${section}${next >= 0 ? text.slice(next) : ''}`
        : `${text.trimEnd()}\n\n${section}`;
    await writeFile(RESULTS, updated);
  }
} finally {
  await embedded.stop();
  await rm(dir, { recursive: true, force: true });
}
