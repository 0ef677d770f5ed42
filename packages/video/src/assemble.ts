import { writeFile } from 'node:fs/promises';
import { PhotoEnhanceError, type VideoProbe } from '@photoenhance/contracts';
import { ffmpegBinaries } from './binaries.ts';
import { runTool, stderrTail } from './run.ts';

/** Codecs an MP4 carries as they are; anything else makes the result Matroska, so nothing is re-encoded. */
const MP4_COPYABLE = new Set(['aac', 'mp3', 'ac3', 'eac3', 'alac', 'mov_text']);

export type VideoContainer = 'mp4' | 'mkv';

/** MP4 (the default) when every copied stream fits in it, else Matroska: streams are copied, never converted. */
export function resultContainer(probe: Pick<VideoProbe, 'streams'>): VideoContainer {
  return probe.streams.every((s) => MP4_COPYABLE.has(s.codec)) ? 'mp4' : 'mkv';
}

export const CONTAINER_MIME: Record<VideoContainer, string> = { mp4: 'video/mp4', mkv: 'video/x-matroska' };

export interface SegmentFile {
  /** First frame index of the segment. */
  start: number;
  path: string;
}

/** Concat-demuxer list: each segment lasts until the next one's first frame, so frames keep their times. */
export function concatList(probe: VideoProbe, segments: readonly SegmentFile[]): string {
  const seconds = (ticks: number) => ((ticks * probe.timeBase.num) / probe.timeBase.den).toFixed(9);
  const lines = ['ffconcat version 1.0'];
  segments.forEach((segment, i) => {
    lines.push(`file '${segment.path.replaceAll("'", "'\\''")}'`);
    const next = segments[i + 1];
    if (next) {
      const span = (probe.frameTimes[next.start] as number) - (probe.frameTimes[segment.start] as number);
      lines.push(`duration ${seconds(span)}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

export interface AssembleOptions {
  probe: VideoProbe;
  /** The original clip: its audio and subtitle streams are copied bit for bit. */
  original: string;
  /** Encoded segments in frame order. */
  segments: readonly SegmentFile[];
  /** Scratch file for the concat list. */
  listPath: string;
  output: string;
  signal?: AbortSignal;
}

/**
 * Joins the segments without re-encoding (concat demuxer, stream copy) and copies the original's audio and
 * subtitle streams packet for packet with their own timestamps. The video starts where the original's did.
 */
export async function assembleVideo(options: AssembleOptions): Promise<VideoContainer> {
  const { probe } = options;
  if (options.segments.length === 0) throw new PhotoEnhanceError('INTERNAL', 'No segments to join');
  await writeFile(options.listPath, concatList(probe, options.segments));
  const container = resultContainer(probe);
  const firstFrame = ((probe.frameTimes[0] as number) * probe.timeBase.num) / probe.timeBase.den;
  const args = [
    ...['-v', 'error', '-nostdin', '-y'],
    ...['-itsoffset', firstFrame.toFixed(9), '-f', 'concat', '-safe', '0', '-i', options.listPath],
    ...['-i', options.original, '-map', '0:v:0'],
    ...probe.streams.flatMap((s) => ['-map', `1:${s.index}`]),
    ...['-c', 'copy', '-map_metadata', '-1', '-map_chapters', '-1'],
    ...(container === 'mp4'
      ? ['-video_track_timescale', String(probe.timeBase.den), '-movflags', '+faststart', '-f', 'mp4']
      : ['-f', 'matroska']),
    options.output,
  ];
  try {
    await runTool(ffmpegBinaries().ffmpeg, args, { signal: options.signal, maxStdoutBytes: 1024 * 1024 });
  } catch (err) {
    if (err instanceof PhotoEnhanceError) throw err;
    throw new PhotoEnhanceError(
      'INTERNAL',
      `The segments could not be joined: ${stderrTail((err as { stderr?: string }).stderr ?? '', 3)}`,
      { cause: err },
    );
  }
  return container;
}
