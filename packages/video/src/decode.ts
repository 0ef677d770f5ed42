import { spawn } from 'node:child_process';
import { PhotoEnhanceError, type VideoProbe } from '@photoenhance/contracts';
import { ffmpegBinaries } from './binaries.ts';
import { stderrTail } from './run.ts';

/** One decoded frame: 8-bit RGB rows (the engine's RgbFrame) and its index in the clip. */
export interface DecodedFrame {
  index: number;
  width: number;
  height: number;
  data: Uint8Array;
}

export interface FrameRange {
  /** First frame index (display order). */
  start: number;
  /** Number of frames. */
  count: number;
}

/**
 * Seek point for frame `start`: half a frame before it, in the file's own timeline (`-ss` counts from the
 * container's start time). ffmpeg seeks to the key frame before and decodes up to it, dropping what comes
 * earlier (accurate seek), so the first frame out is exactly frame `start`.
 */
function seekSeconds(probe: VideoProbe, start: number, containerStart: number): number | undefined {
  if (start === 0) return undefined;
  const at = probe.frameTimes[start] as number;
  const before = probe.frameTimes[start - 1] as number;
  const ticks = at - (at - before) / 2;
  return Math.max(0, (ticks * probe.timeBase.num) / probe.timeBase.den - containerStart);
}

/**
 * Decodes frames [start, start + count) of the first video stream to raw RGB, as a stream: one ffmpeg
 * process, frames read off its stdout as they come (backpressure holds ffmpeg while the caller works),
 * no file per frame. Frames are upright (rotation applied) and 8-bit (10-bit sources are converted).
 */
export async function* decodeFrames(
  path: string,
  probe: VideoProbe,
  range: FrameRange,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<DecodedFrame> {
  const { ffmpeg } = ffmpegBinaries();
  const seek = seekSeconds(probe, range.start, probe.containerStartSeconds);
  const args = [
    ...['-v', 'error', '-nostdin'],
    ...(seek === undefined ? [] : ['-ss', seek.toFixed(6)]),
    ...['-i', path, '-map', '0:v:0', '-vsync', 'passthrough', '-frames:v', String(range.count)],
    ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
  ];
  const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-8192);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const onAbort = () => child.kill('SIGKILL');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const frameBytes = probe.width * probe.height * 3;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = range.start;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= frameBytes) {
        const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
        // A copy per frame: the caller may hand the frame to another thread (transfer) or keep it.
        const data = new Uint8Array(all.subarray(0, frameBytes));
        const rest = all.subarray(frameBytes);
        pending = rest.length ? [rest] : [];
        pendingBytes = rest.length;
        yield { index: index++, width: probe.width, height: probe.height, data };
      }
    }
    const code = await exited;
    if (options.signal?.aborted) throw new PhotoEnhanceError('CANCELLED', 'The operation was cancelled');
    if (code !== 0) {
      // ffmpeg names the file: the worker's scratch path is replaced before the message reaches the task record.
      const reason = stderrTail(stderr, 2).replaceAll(path, 'input');
      throw new PhotoEnhanceError('CORRUPT_VIDEO', `The video could not be decoded: ${reason}`);
    }
    if (index - range.start !== range.count || pendingBytes !== 0) {
      throw new PhotoEnhanceError(
        'CORRUPT_VIDEO',
        `Decoded ${index - range.start} of the ${range.count} frames from ${range.start}: the video is damaged`,
        { details: { start: range.start, count: range.count, decoded: index - range.start } },
      );
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    // The caller stopped early (error, cancel): do not leave ffmpeg running.
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
