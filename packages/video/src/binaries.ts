import { PhotoEnhanceError } from '@photoenhance/contracts';

/** Where ffmpeg and ffprobe are: FFMPEG_PATH / FFPROBE_PATH (a system build), else the npm-installed static builds. */
export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
}

// The installer packages pick the platform package (an optional dependency that holds the binary in its
// tarball) and check it exists; they download nothing, so `npm ci` alone brings the binaries. On a platform
// without one they throw at load: kept as "none" so FFMPEG_PATH / FFPROBE_PATH still work there.
const bundledFfmpeg = await import('@ffmpeg-installer/ffmpeg').then(
  (m) => m.default.path,
  () => undefined,
);
const bundledFfprobe = await import('@ffprobe-installer/ffprobe').then(
  (m) => m.default.path,
  () => undefined,
);

function required(tool: 'ffmpeg' | 'ffprobe', path: string | undefined): string {
  if (path) return path;
  throw new PhotoEnhanceError(
    'INTERNAL',
    `No bundled ${tool} for ${process.platform}-${process.arch}: set ${tool.toUpperCase()}_PATH to a system build`,
  );
}

export function ffmpegBinaries(env: NodeJS.ProcessEnv = process.env): FfmpegBinaries {
  return {
    ffmpeg: required('ffmpeg', env.FFMPEG_PATH || bundledFfmpeg),
    ffprobe: required('ffprobe', env.FFPROBE_PATH || bundledFfprobe),
  };
}
