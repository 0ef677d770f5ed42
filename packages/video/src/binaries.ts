import { accessSync, chmodSync, constants, copyFileSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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
  (m) => m.default.path as string,
  () => undefined,
);
const bundledFfprobe = await import('@ffprobe-installer/ffprobe').then(
  (m) => m.default.path as string,
  () => undefined,
);
let checked: { ffmpeg: string | undefined; ffprobe: string | undefined } | undefined;

/**
 * The bundled binary, executable: the ffprobe tarball carries no executable bit and its package's install
 * script (`chmod u+x`) does not run where install scripts are off. Set the bit in place, or use an executable
 * copy in the temp folder when node_modules is read-only.
 */
function executable(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    try {
      chmodSync(path, statSync(path).mode | 0o111);
      return path;
    } catch {
      const dir = join(tmpdir(), 'photoenhance-bin');
      mkdirSync(dir, { recursive: true });
      const copy = join(dir, `${basename(path)}-${statSync(path).size}`);
      copyFileSync(path, copy);
      chmodSync(copy, 0o755);
      return copy;
    }
  }
}

function required(tool: 'ffmpeg' | 'ffprobe', path: string | undefined): string {
  if (path) return path;
  throw new PhotoEnhanceError(
    'INTERNAL',
    `No bundled ${tool} for ${process.platform}-${process.arch}: set ${tool.toUpperCase()}_PATH to a system build`,
  );
}

export function ffmpegBinaries(env: NodeJS.ProcessEnv = process.env): FfmpegBinaries {
  const bundled = () => {
    checked ??= { ffmpeg: executable(bundledFfmpeg), ffprobe: executable(bundledFfprobe) };
    return checked;
  };
  return {
    ffmpeg: required('ffmpeg', env.FFMPEG_PATH || bundled().ffmpeg),
    ffprobe: required('ffprobe', env.FFPROBE_PATH || bundled().ffprobe),
  };
}
