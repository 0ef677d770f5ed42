import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ffmpegBinaries, probeVideo, runTool } from '@photoenhance/video';
import { makeClip } from '@photoenhance/video/test-clips';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/photoenhance.js', import.meta.url));
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, ORT_PROVIDERS: 'cpu' },
      timeout: 120_000,
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '' };
  }
}

async function packetDigest(path: string): Promise<string[]> {
  const { stdout } = await runTool(ffmpegBinaries().ffmpeg, [
    '-v',
    'error',
    '-i',
    path,
    '-map',
    '0:a:0',
    '-c',
    'copy',
    '-f',
    'framemd5',
    'pipe:1',
  ]);
  return stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
}

let dir: string;
let clip: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-video-'));
  clip = await makeClip(dir, 'no-faststart', { seconds: 1, file: 'clip.mp4' });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('photoenhance video', () => {
  it('writes the enhanced clip with every frame, its times and its sound', async () => {
    const out = join(dir, 'clip_2x.mp4');
    const { code, stdout } = await cli([
      'video',
      clip,
      '-o',
      out,
      '--scale',
      '2',
      '--bg-upsampler',
      'none',
      '--preset',
      'veryfast',
    ]);
    expect(stdout).toMatch(/✔ .*64×48 → 128×96 {2}24 frames, 1 stream\(s\) copied/);
    expect(code).toBe(0);
    const [input, result] = await Promise.all([probeVideo(clip), probeVideo(out)]);
    expect(result).toMatchObject({ width: 128, height: 96, frameCount: 24, codec: 'h264', pixelFormat: 'yuv420p' });
    expect(result.frameTimes).toEqual(input.frameTimes);
    expect(await packetDigest(out)).toEqual(await packetDigest(clip));
  });

  it('refuses what is not a video, and an output container that cannot hold the result, with exit 1', async () => {
    const text = join(dir, 'notes.mp4');
    await writeFile(text, 'hello\n'.repeat(100));
    const notVideo = await cli(['video', text, '-o', join(dir, 'x.mp4')]);
    expect(notVideo.code).toBe(1);
    expect(notVideo.stdout).toContain('UNSUPPORTED_FORMAT');
    const wrong = await cli(['video', clip, '-o', join(dir, 'x.webm'), '--no-face']);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain('.mp4');
  });
});
