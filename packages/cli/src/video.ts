import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_VIDEO_LIMITS, type EnhanceOptionsInput, VideoOutputOptionsSchema } from '@photoenhance/contracts';
import { createFaceSmoother } from '@photoenhance/engine';
import {
  assembleVideo,
  checkVideoLimits,
  frameSeconds,
  outputFrameSize,
  probeVideo,
  processSegment,
  resultContainer,
} from '@photoenhance/video';
import cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import {
  addFaceOptions,
  addRuntimeOptions,
  addTargetOptions,
  createCliEngine,
  failureReason,
  type SharedFlags,
  type SharedHelp,
  schemaOption,
  sharedEnhanceOptions,
} from './shared-options.ts';

interface VideoFlags extends SharedFlags {
  smoothFaces: boolean;
  crf: number;
  preset: 'ultrafast' | 'veryfast' | 'fast' | 'medium' | 'slow';
}

const VIDEO_HELP: SharedHelp = {
  outputValue: 'file',
  output: 'output file: .mp4 (H.264), or .mkv when the sound cannot go into MP4',
  scaleDefault: 2,
  scale: 'output size relative to the input, 1–16',
  quality: 'upscaler quality (as for photos)',
  faceModel: 'face restorer id or a 512×512 GFPGAN-family ONNX file',
  bgUpsampler: 'none = plain Lanczos resize',
  providers: 'ONNX Runtime execution providers, e.g. cuda,cpu',
};

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * `photoenhance video in.mp4 -o out.mp4`: the whole clip as one segment on this machine (the service splits it
 * over workers), through the same pipeline as a worker's segment job, then joined with the original's sound.
 */
async function runVideo(inputPath: string, flags: VideoFlags): Promise<number> {
  const input = resolve(inputPath);
  const output = resolve(flags.output);
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'photoenhance-video-'));
  const engine = createCliEngine(flags);
  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {value}/{total} frames | {fps} fps | ETA {eta_clock}',
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const tty = process.stderr.isTTY;
  try {
    await stat(input).catch(() => {
      throw new Error(`${inputPath}: file not found`);
    });
    const probe = await probeVideo(input);
    checkVideoLimits(probe, DEFAULT_VIDEO_LIMITS, flags.scale);
    const container = resultContainer(probe);
    if (extname(output).toLowerCase() !== `.${container}`) {
      throw new Error(
        container === 'mkv'
          ? `the clip's sound/subtitles (${probe.streams.map((s) => s.codec).join(', ')}) cannot be copied into MP4: name the output .mkv`
          : `the output must be an .mp4 file (H.264 video with the original sound)`,
      );
    }
    const options: EnhanceOptionsInput = sharedEnhanceOptions(flags);
    const size = outputFrameSize(probe, flags.scale);
    const faces = flags.face && flags.smoothFaces ? createFaceSmoother(engine, options) : null;
    if (tty) bar.start(probe.frameCount, 0, { fps: '0.0', eta_clock: '?' });
    const segment = join(dir, 'segment.mp4');
    const t0 = performance.now();
    await processSegment({
      input,
      probe,
      start: 0,
      count: probe.frameCount,
      width: size.width,
      height: size.height,
      output: VideoOutputOptionsSchema.parse({ crf: flags.crf, preset: flags.preset }),
      path: segment,
      enhance: async (frame) => {
        const given = faces ? await faces.next(frame, frameSeconds(probe, frame.index)) : undefined;
        const out = await engine.enhanceFrame(frame, options, given ? { faces: given } : {});
        return out.frame.data;
      },
      onFrame: (done) => {
        const fps = done / ((performance.now() - t0) / 1000);
        if (tty) bar.update(done, { fps: fps.toFixed(1), eta_clock: clock((probe.frameCount - done) / fps) });
      },
    });
    await assembleVideo({
      probe,
      original: input,
      segments: [{ start: 0, path: segment }],
      listPath: join(dir, 'list.txt'),
      output,
    });
    if (tty) bar.stop();
    const seconds = (performance.now() - started) / 1000;
    const { size: bytes } = await stat(output);
    process.stdout.write(
      `✔ ${inputPath} → ${flags.output}  ${probe.width}×${probe.height} → ${size.encodedWidth}×${size.encodedHeight}  ` +
        `${probe.frameCount} frames, ${probe.streams.length} stream(s) copied  ${(bytes / 1024 ** 2).toFixed(1)} MB  ` +
        `${seconds.toFixed(1)} s (${(probe.frameCount / seconds).toFixed(1)} fps)\n`,
    );
    return 0;
  } catch (err) {
    if (tty) bar.stop();
    process.stdout.write(`✖ ${inputPath}: ${failureReason(err)}\n`);
    return 1;
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function addVideoCommand(program: Command): void {
  const video = program
    .command('video')
    .description(
      'Enhance a video clip: every frame through the photo pipeline, faces tracked and smoothed, sound copied.',
    )
    .argument('<input>', 'a video file (MP4, MOV, MKV, WebM)');
  addTargetOptions(video, VIDEO_HELP);
  addFaceOptions(video, VIDEO_HELP);
  video.option('--no-smooth-faces', 'detect faces on each frame anew (no tracking or landmark smoothing)');
  addRuntimeOptions(video, VIDEO_HELP);
  schemaOption(video, '--crf <0-51>', 'H.264 quality: 0 lossless … 51 worst', VideoOutputOptionsSchema.shape.crf);
  video
    .addOption(
      new Option('--preset <name>', 'x264 speed/size trade-off')
        .choices(VideoOutputOptionsSchema.shape.preset.unwrap().options)
        .default(VideoOutputOptionsSchema.shape.preset.def.defaultValue),
    )
    .addHelpText(
      'after',
      `
Examples:
  photoenhance video clip.mp4 -o clip_2x.mp4 --scale 2
  photoenhance video talk.mkv -o talk_hd.mkv --scale 2 --quality fast --crf 20

Exit status: 0 when the video was written, 1 when it was refused or failed (with the reason).`,
    )
    .action(async (input: string, flags: VideoFlags) => {
      process.exitCode = await runVideo(input, flags);
    });
}
