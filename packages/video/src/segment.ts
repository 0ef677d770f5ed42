import type { VideoOutputOptions, VideoProbe } from '@photoenhance/contracts';
import { type DecodedFrame, decodeFrames } from './decode.ts';
import { SegmentEncoder } from './encode.ts';

export interface SegmentWork {
  /** The clip, a local file. */
  input: string;
  probe: VideoProbe;
  start: number;
  count: number;
  /** Frames before `start` decoded and shown to `observe` only (tracking state across segment boundaries). */
  warmup?: number;
  /** Size of the enhanced frames. */
  width: number;
  height: number;
  output: VideoOutputOptions;
  /** Where the encoded segment goes. */
  path: string;
  signal?: AbortSignal;
  observe?: (frame: DecodedFrame) => Promise<void>;
  /** One frame of the segment in, its enhanced RGB (width × height × 3) out. */
  enhance: (frame: DecodedFrame) => Promise<Uint8Array>;
  /** After each frame is encoded, with how many are done. */
  onFrame?: (done: number) => Promise<void> | void;
}

/**
 * One segment, start to end: decode its frame range (plus warm-up frames before it), run each frame through
 * `enhance`, encode it — one ffmpeg process in, one out, frames streamed between them. Used by the worker's
 * segment jobs and by the CLI (which runs the whole clip as one segment).
 */
export async function processSegment(work: SegmentWork): Promise<void> {
  const warmup = Math.min(work.warmup ?? 0, work.start);
  const encoder = new SegmentEncoder({
    probe: work.probe,
    start: work.start,
    count: work.count,
    width: work.width,
    height: work.height,
    output: work.output,
    path: work.path,
    ...(work.signal ? { signal: work.signal } : {}),
  });
  let done = 0;
  try {
    const range = { start: work.start - warmup, count: work.count + warmup };
    for await (const frame of decodeFrames(work.input, work.probe, range, work.signal ? { signal: work.signal } : {})) {
      if (frame.index < work.start) {
        await work.observe?.(frame);
        continue;
      }
      await encoder.write(await work.enhance(frame));
      done++;
      await work.onFrame?.(done);
    }
    await encoder.finish();
  } catch (err) {
    encoder.abort();
    throw err;
  }
}

/** A frame's presentation time in seconds (the tracker's clock). */
export function frameSeconds(probe: VideoProbe, index: number): number {
  return ((probe.frameTimes[index] ?? 0) * probe.timeBase.num) / probe.timeBase.den;
}
