import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_VIDEO_LIMITS } from '@photoenhance/contracts';
import { checkVideoLimits, ffmpegBinaries, probeVideo } from '@photoenhance/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClip } from './clips.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'video-probe-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('probeVideo', () => {
  it('reads frame count, constant rate, duration and the audio stream of a plain clip', async () => {
    const probe = await probeVideo(await makeClip(dir, 'basic'));
    expect(probe).toMatchObject({ codec: 'h264', width: 64, height: 48, rotation: 0, bitDepth: 8 });
    expect(probe.frameCount).toBe(48);
    expect(probe.constantFrameRate).toBe(true);
    expect(probe.frameRate).toEqual({ num: 24, den: 1 });
    expect(probe.durationSeconds).toBeGreaterThan(1.9);
    expect(probe.durationSeconds).toBeLessThan(2.1);
    expect(probe.streams).toEqual([{ index: 1, kind: 'audio', codec: 'aac', language: 'und' }]);
    const step = (probe.frameTimes[1] as number) - (probe.frameTimes[0] as number);
    expect(probe.frameTimes.every((t, i) => t === (probe.frameTimes[0] as number) + i * step)).toBe(true);
  });

  it('tells a variable frame rate and keeps every gap', async () => {
    const probe = await probeVideo(await makeClip(dir, 'vfr'));
    expect(probe.constantFrameRate).toBe(false);
    expect(probe.frameCount).toBe(48 - 10);
    const gaps = new Set(probe.frameTimes.slice(1).map((t, i) => t - (probe.frameTimes[i] as number)));
    expect([...gaps].sort((a, b) => a - b)).toEqual([512, 1024]);
  });

  it('reports rotation and the upright size, two audio tracks, no audio', async () => {
    const rotated = await probeVideo(await makeClip(dir, 'rotated'));
    expect(rotated).toMatchObject({ rotation: 90, width: 48, height: 64 });
    const two = await probeVideo(await makeClip(dir, 'two-audio'));
    expect(two.streams.map((s) => s.kind)).toEqual(['audio', 'audio']);
    const silent = await probeVideo(await makeClip(dir, 'silent'));
    expect(silent.streams).toEqual([]);
  });

  it('takes 10-bit SDR (decoded to 8-bit) and odd sizes, refuses HDR with the reason', async () => {
    expect(await probeVideo(await makeClip(dir, 'ten-bit'))).toMatchObject({
      bitDepth: 10,
      pixelFormat: 'yuv420p10le',
    });
    expect(await probeVideo(await makeClip(dir, 'odd'))).toMatchObject({ width: 65, height: 49 });
    await expect(probeVideo(await makeClip(dir, 'hdr'))).rejects.toMatchObject({
      code: 'UNSUPPORTED_FORMAT',
      message: expect.stringContaining('HDR'),
    });
  });

  it('refuses what is not a video: text, a still image, an empty file', async () => {
    const text = join(dir, 'notes.mp4');
    await writeFile(text, 'this is not a video\n'.repeat(50));
    await expect(probeVideo(text)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    const png = join(dir, 'still.png');
    await writeFile(png, await readFile(join(import.meta.dirname, '../../engine/tests/fixtures/faces/astronaut.jpg')));
    await expect(probeVideo(png)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    const empty = join(dir, 'empty.mp4');
    await writeFile(empty, '');
    await expect(probeVideo(empty)).rejects.toMatchObject({ code: 'EMPTY_FILE' });
  });

  it('refuses a truncated clip, index first or index last', async () => {
    const first = await makeClip(dir, 'basic');
    const firstCut = join(dir, 'cut-first.mp4');
    await writeFile(firstCut, (await readFile(first)).subarray(0, 3000));
    await expect(probeVideo(firstCut)).rejects.toMatchObject({ code: 'CORRUPT_VIDEO' });
    const last = await makeClip(dir, 'no-faststart');
    await truncate(last, 3000);
    await expect(probeVideo(last)).rejects.toMatchObject({
      code: expect.stringMatching(/CORRUPT_VIDEO|UNSUPPORTED_FORMAT/),
    });
  });
});

describe('ffmpegBinaries', () => {
  it('uses the npm-installed static builds, or FFMPEG_PATH / FFPROBE_PATH when set', () => {
    const bundled = ffmpegBinaries({});
    expect(bundled.ffmpeg).toMatch(/@ffmpeg-installer/);
    expect(bundled.ffprobe).toMatch(/@ffprobe-installer/);
    expect(ffmpegBinaries({ FFMPEG_PATH: '/usr/bin/ffmpeg', FFPROBE_PATH: '/usr/bin/ffprobe' })).toEqual({
      ffmpeg: '/usr/bin/ffmpeg',
      ffprobe: '/usr/bin/ffprobe',
    });
  });
});

describe('checkVideoLimits', () => {
  it('names the limit a clip is over', async () => {
    const probe = await probeVideo(await makeClip(dir, 'basic'));
    const limits = DEFAULT_VIDEO_LIMITS;
    expect(() => checkVideoLimits(probe, limits, 4)).not.toThrow();
    expect(() => checkVideoLimits(probe, { ...limits, maxSeconds: 1 }, 2)).toThrow(/VIDEO_MAX_SECONDS/);
    expect(() => checkVideoLimits(probe, { ...limits, maxFrames: 47 }, 2)).toThrow(/VIDEO_MAX_FRAMES/);
    expect(() => checkVideoLimits(probe, { ...limits, maxInputPixels: 64 * 47 }, 1)).toThrow(
      expect.objectContaining({ code: 'TOO_MANY_PIXELS' }),
    );
    expect(() => checkVideoLimits(probe, { ...limits, maxOutputPixels: 128 * 96 - 1 }, 2)).toThrow(
      expect.objectContaining({ code: 'OUTPUT_TOO_LARGE' }),
    );
  });
});
