import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { PhotoEnhanceError, type VideoOutputOptions, type VideoProbe } from '@photoenhance/contracts';
import { ffmpegBinaries } from './binaries.ts';
import { stderrTail } from './run.ts';

export interface SegmentEncoderOptions {
  probe: VideoProbe;
  /** First frame index of the segment: its frames keep the clip's times, counted from this frame. */
  start: number;
  count: number;
  /** Size of the frames written (the enhanced size, maybe odd). */
  width: number;
  height: number;
  output: VideoOutputOptions;
  /** Where the segment goes (an MP4 file). */
  path: string;
  signal?: AbortSignal;
}

/**
 * setpts expression giving frame N of the segment its exact time in the clip's time base, relative to the
 * segment's first frame: a multiple for constant frame rate, else one term per frame (VFR keeps every gap).
 */
export function segmentPtsExpression(probe: VideoProbe, start: number, count: number): string {
  const times = probe.frameTimes.slice(start, start + count);
  const origin = times[0] as number;
  const deltas = times.slice(1).map((t, i) => t - (times[i] as number));
  if (deltas.every((d) => d === deltas[0])) return `N*${deltas[0] ?? 1}`;
  return times.map((t, i) => `eq(N\\,${i})*${t - origin}`).join('+');
}

/**
 * Encodes one segment from raw RGB frames written to it, one by one (stdin of one ffmpeg process), to an
 * MP4 in the clip's own time base with each frame's original time: H.264 yuv420p at the CRF asked, sides cut
 * to even (yuv420p needs them; at most one row/column). Segments of one clip are later joined without
 * re-encoding, so they share codec settings and time base.
 */
export class SegmentEncoder {
  readonly #child: ChildProcess;
  readonly #frameBytes: number;
  readonly #count: number;
  readonly #exited: Promise<number | null>;
  #stderr = '';
  #written = 0;

  constructor(options: SegmentEncoderOptions) {
    const { probe, output } = options;
    const { ffmpeg } = ffmpegBinaries();
    const tb = `${probe.timeBase.num}/${probe.timeBase.den}`;
    const evenW = options.width - (options.width % 2);
    const evenH = options.height - (options.height % 2);
    const crop = evenW !== options.width || evenH !== options.height ? `,crop=${evenW}:${evenH}:0:0` : '';
    const rate = `${probe.frameRate.num}/${probe.frameRate.den}`;
    const args = [
      ...['-v', 'error', '-nostdin', '-y'],
      ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${options.width}x${options.height}`, '-framerate', rate],
      ...['-i', 'pipe:0', '-map', '0:v:0'],
      ...['-vf', `settb=${tb},setpts=${segmentPtsExpression(probe, options.start, options.count)}${crop}`],
      ...['-vsync', 'passthrough', '-enc_time_base', `${probe.timeBase.num}:${probe.timeBase.den}`],
      ...['-c:v', 'libx264', '-preset', output.preset, '-crf', String(output.crf), '-pix_fmt', 'yuv420p'],
      ...['-video_track_timescale', String(probe.timeBase.den), '-f', 'mp4', options.path],
    ];
    this.#child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.#frameBytes = options.width * options.height * 3;
    this.#count = options.count;
    this.#child.stderr?.setEncoding('utf8');
    this.#child.stderr?.on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-8192);
    });
    this.#exited = new Promise((resolve) => {
      this.#child.on('close', (code) => resolve(code));
      this.#child.on('error', () => resolve(-1));
    });
    // EPIPE when ffmpeg died early: reported by finish() with its stderr, not as an unhandled error.
    this.#child.stdin?.on('error', () => {});
    options.signal?.addEventListener('abort', () => this.#child.kill('SIGKILL'), { once: true });
  }

  /** Writes the next frame, waiting while ffmpeg's input pipe is full. */
  async write(data: Uint8Array): Promise<void> {
    if (data.length !== this.#frameBytes) {
      throw new PhotoEnhanceError('INTERNAL', `Frame of ${data.length} bytes, the segment expects ${this.#frameBytes}`);
    }
    const stdin = this.#child.stdin;
    if (!stdin || stdin.destroyed) throw await this.#failure();
    this.#written++;
    if (!stdin.write(data)) {
      await Promise.race([once(stdin, 'drain'), this.#exited]);
    }
  }

  /** Closes the input and waits for the MP4 to be written; throws when ffmpeg failed or frames are missing. */
  async finish(): Promise<void> {
    if (this.#written !== this.#count) {
      this.abort();
      throw new PhotoEnhanceError('INTERNAL', `Segment got ${this.#written} of ${this.#count} frames`);
    }
    this.#child.stdin?.end();
    const code = await this.#exited;
    if (code !== 0) throw await this.#failure();
  }

  abort(): void {
    this.#child.kill('SIGKILL');
  }

  async #failure(): Promise<PhotoEnhanceError> {
    await this.#exited;
    return new PhotoEnhanceError('INTERNAL', `The segment could not be encoded: ${stderrTail(this.#stderr, 3)}`);
  }
}
