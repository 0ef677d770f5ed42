import { join } from 'node:path';
import { ffmpegBinaries, runTool } from '@photoenhance/video';

/** Tiny clips the tests make with the bundled ffmpeg (lavfi testsrc + sine): nothing is committed. */
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
  | 'no-faststart';

const SOURCE = (size: string, seconds: number) => [
  '-f',
  'lavfi',
  '-i',
  `testsrc=size=${size}:rate=24:duration=${seconds}`,
];
const TONE = (hz: number, seconds: number) => ['-f', 'lavfi', '-i', `sine=frequency=${hz}:duration=${seconds}`];
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'];

const RECIPES: Record<ClipKind, { file: string; args: string[] }> = {
  basic: {
    file: 'basic.mp4',
    args: [...SOURCE('64x48', 2), ...TONE(440, 2), ...X264, '-c:a', 'aac', '-movflags', '+faststart'],
  },
  'no-faststart': { file: 'no-faststart.mp4', args: [...SOURCE('64x48', 2), ...TONE(440, 2), ...X264, '-c:a', 'aac'] },
  // Every fifth frame dropped, times kept: gaps of one and two frame periods.
  vfr: {
    file: 'vfr.mp4',
    args: [
      ...SOURCE('64x48', 2),
      ...TONE(440, 2),
      ...['-vf', 'select=not(eq(mod(n\\,5)\\,2))', '-vsync', 'vfr'],
      ...X264,
      ...['-c:a', 'aac', '-video_track_timescale', '12288'],
    ],
  },
  rotated: { file: 'rotated-source.mp4', args: [...SOURCE('64x48', 1), ...TONE(440, 1), ...X264, '-c:a', 'aac'] },
  silent: { file: 'silent.mp4', args: [...SOURCE('64x48', 1), ...X264] },
  'two-audio': {
    file: 'two-audio.mp4',
    args: [
      ...SOURCE('64x48', 1),
      ...TONE(440, 1),
      ...TONE(660, 1),
      '-map',
      '0',
      '-map',
      '1',
      '-map',
      '2',
      ...X264,
      '-c:a',
      'aac',
    ],
  },
  // yuv420p cannot hold odd sides: lossless FFV1 in Matroska can.
  odd: { file: 'odd.mkv', args: [...SOURCE('65x49', 1), '-c:v', 'ffv1', '-pix_fmt', 'yuv444p'] },
  'ten-bit': { file: 'ten-bit.mkv', args: [...SOURCE('64x48', 1), '-c:v', 'ffv1', '-pix_fmt', 'yuv420p10le'] },
  hdr: {
    file: 'hdr.mp4',
    args: [
      ...SOURCE('64x48', 1),
      ...X264,
      '-color_primaries',
      'bt2020',
      '-color_trc',
      'smpte2084',
      '-colorspace',
      'bt2020nc',
    ],
  },
  'opus-mkv': { file: 'opus.mkv', args: [...SOURCE('64x48', 1), ...TONE(440, 1), ...X264, '-c:a', 'libopus'] },
};

export async function makeClip(dir: string, kind: ClipKind): Promise<string> {
  const recipe = RECIPES[kind];
  const path = join(dir, recipe.file);
  const audio = recipe.args.some((a) => a.startsWith('sine='));
  const { ffmpeg } = ffmpegBinaries();
  await runTool(ffmpeg, ['-v', 'error', '-y', ...recipe.args, ...(audio ? ['-shortest'] : []), path]);
  if (kind !== 'rotated') return path;
  // This ffmpeg writes the rotation (a display matrix) only when the stream is copied, not when encoding.
  const rotated = join(dir, 'rotated.mp4');
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
