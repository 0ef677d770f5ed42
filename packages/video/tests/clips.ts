import { join } from 'node:path';
import { ffmpegBinaries, runTool } from '@photoenhance/video';

/**
 * Tiny clips the tests make with the bundled ffmpeg (lavfi testsrc + sine): nothing is committed. Every video
 * test (packages, services, test/) makes its clips here (`@photoenhance/video/test-clips`).
 */
export type ClipKind =
  | 'basic'
  | 'vfr'
  | 'rotated'
  | 'silent'
  | 'two-audio'
  | 'odd'
  | 'ten-bit'
  | 'hdr'
  | 'opus-mkv'
  | 'no-faststart'
  | 'noise';

export interface ClipOptions {
  /** Frame size (default 64x48; 65x49 for `odd`, 512x384 for `noise`). */
  size?: string;
  /** Length in seconds at 24 fps (default 2 for basic, no-faststart and vfr, else 1). */
  seconds?: number;
  /** File name in `dir` (default one per kind). */
  file?: string;
}

const SOURCE = (size: string, seconds: number) => [
  '-f',
  'lavfi',
  '-i',
  `testsrc=size=${size}:rate=24:duration=${seconds}`,
];
const TONE = (hz: number, seconds: number) => ['-f', 'lavfi', '-i', `sine=frequency=${hz}:duration=${seconds}`];
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'];

function recipe(kind: ClipKind, options: ClipOptions): { file: string; args: string[] } {
  const size = options.size ?? (kind === 'odd' ? '65x49' : kind === 'noise' ? '512x384' : '64x48');
  const s = options.seconds ?? (kind === 'basic' || kind === 'no-faststart' || kind === 'vfr' ? 2 : 1);
  switch (kind) {
    case 'basic':
      return {
        file: 'basic.mp4',
        args: [...SOURCE(size, s), ...TONE(440, s), ...X264, '-c:a', 'aac', '-movflags', '+faststart'],
      };
    case 'no-faststart':
      return { file: 'no-faststart.mp4', args: [...SOURCE(size, s), ...TONE(440, s), ...X264, '-c:a', 'aac'] };
    // Every fifth frame dropped, times kept: gaps of one and two frame periods.
    case 'vfr':
      return {
        file: 'vfr.mp4',
        args: [
          ...SOURCE(size, s),
          ...TONE(440, s),
          ...['-vf', 'select=not(eq(mod(n\\,5)\\,2))', '-vsync', 'vfr'],
          ...X264,
          ...['-c:a', 'aac', '-video_track_timescale', '12288'],
        ],
      };
    case 'rotated':
      return { file: 'rotated-source.mp4', args: [...SOURCE(size, s), ...TONE(440, s), ...X264, '-c:a', 'aac'] };
    case 'silent':
      return { file: 'silent.mp4', args: [...SOURCE(size, s), ...X264] };
    case 'two-audio':
      return {
        file: 'two-audio.mp4',
        args: [
          ...SOURCE(size, s),
          ...TONE(440, s),
          ...TONE(660, s),
          ...['-map', '0', '-map', '1', '-map', '2'],
          ...X264,
          '-c:a',
          'aac',
        ],
      };
    // yuv420p cannot hold odd sides: lossless FFV1 in Matroska can.
    case 'odd':
      return { file: 'odd.mkv', args: [...SOURCE(size, s), '-c:v', 'ffv1', '-pix_fmt', 'yuv444p'] };
    case 'ten-bit':
      return { file: 'ten-bit.mkv', args: [...SOURCE(size, s), '-c:v', 'ffv1', '-pix_fmt', 'yuv420p10le'] };
    case 'hdr':
      return {
        file: 'hdr.mp4',
        args: [
          ...SOURCE(size, s),
          ...X264,
          ...['-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc'],
        ],
      };
    case 'opus-mkv':
      return { file: 'opus.mkv', args: [...SOURCE(size, s), ...TONE(440, s), ...X264, '-c:a', 'libopus'] };
    // Lossless random noise: megabytes for a second (a big file for the direct-upload paths), no sound.
    case 'noise':
      return {
        file: 'noise.mp4',
        args: [
          ...['-f', 'lavfi', '-i', `nullsrc=s=${size}:r=24:d=${s},geq=random(1)*255:128:128`],
          ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p'],
        ],
      };
  }
}

export async function makeClip(dir: string, kind: ClipKind, options: ClipOptions = {}): Promise<string> {
  const made = recipe(kind, options);
  const path = join(dir, options.file ?? made.file);
  const audio = made.args.some((a) => a.startsWith('sine='));
  const { ffmpeg } = ffmpegBinaries();
  await runTool(ffmpeg, ['-v', 'error', '-y', ...made.args, ...(audio ? ['-shortest'] : []), path]);
  if (kind !== 'rotated') return path;
  // This ffmpeg writes the rotation (a display matrix) only when the stream is copied, not when encoding.
  const rotated = join(dir, options.file ? `rotated-${options.file}` : 'rotated.mp4');
  await runTool(ffmpeg, ['-v', 'error', '-y', '-i', path, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
  return rotated;
}

/**
 * Per-packet digest of one stream, stream-copied: timestamps, sizes and MD5 of every packet's bytes
 * (ffmpeg's framemd5 muxer). Equal lists mean the stream is the same bit for bit at the same times.
 */
export async function packetDigest(path: string, stream: string): Promise<string[]> {
  const { stdout } = await runTool(ffmpegBinaries().ffmpeg, [
    ...['-v', 'error', '-i', path, '-map', stream, '-c', 'copy', '-f', 'framemd5', 'pipe:1'],
  ]);
  return stdout
    .toString('utf8')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'));
}

/** Every frame of a clip decoded to RGB, in order. */
export async function decodeAll(path: string): Promise<Buffer> {
  const { stdout } = await runTool(ffmpegBinaries().ffmpeg, [
    ...[
      '-v',
      'error',
      '-i',
      path,
      '-map',
      '0:v:0',
      '-vsync',
      'passthrough',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ],
  ]);
  return stdout;
}

export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`sizes differ: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    sum += d * d;
  }
  const mse = sum / a.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}
