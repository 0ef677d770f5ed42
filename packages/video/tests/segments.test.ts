import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VideoProbe } from '@photoenhance/contracts';
import {
  assembleVideo,
  decodeFrames,
  type FrameRange,
  probeVideo,
  resultContainer,
  SegmentEncoder,
  type SegmentFile,
} from '@photoenhance/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClipKind, decodeAll, makeClip, packetDigest, psnr } from './clips.ts';

// Near-lossless, so what differs between the two results is where the segments start, not the encoder's
// losses (CRF 4: 46.1–46.6 dB many vs one; CRF 8: 43.8–44.2 dB; testsrc at 64×48 is all sharp edges).
const CRF = 4;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'video-segments-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(path: string, probe: VideoProbe, range: FrameRange): Promise<Buffer> {
  const frames: Uint8Array[] = [];
  for await (const frame of decodeFrames(path, probe, range)) frames.push(frame.data);
  return Buffer.concat(frames);
}

/** Splits the clip into segments of `size` frames, re-encodes each from decoded frames and joins them. */
async function roundTrip(path: string, probe: VideoProbe, size: number, name: string): Promise<string> {
  const segments: SegmentFile[] = [];
  for (let start = 0; start < probe.frameCount; start += size) {
    const count = Math.min(size, probe.frameCount - start);
    const segment = join(dir, `${name}-${start}.mp4`);
    const encoder = new SegmentEncoder({
      probe,
      start,
      count,
      width: probe.width,
      height: probe.height,
      output: { codec: 'h264', crf: CRF, preset: 'veryfast' },
      path: segment,
    });
    for await (const frame of decodeFrames(path, probe, { start, count })) await encoder.write(frame.data);
    await encoder.finish();
    segments.push({ start, path: segment });
  }
  const output = join(dir, `${name}.${resultContainer(probe)}`);
  await assembleVideo({ probe, original: path, segments, listPath: join(dir, `${name}.txt`), output });
  return output;
}

describe('decodeFrames', () => {
  it.each<ClipKind>(['basic', 'vfr'])('decodes a frame range to the same RGB as a whole decode (%s)', async (kind) => {
    const path = await makeClip(dir, kind);
    const probe = await probeVideo(path);
    const all = await decodeAll(path);
    const frame = probe.width * probe.height * 3;
    expect(all.length).toBe(frame * probe.frameCount);
    const range = await collect(path, probe, { start: 17, count: 9 });
    expect(range.equals(all.subarray(17 * frame, 26 * frame))).toBe(true);
  });

  it('decodes a rotated clip upright and a 10-bit one to 8-bit RGB', async () => {
    const rotated = await makeClip(dir, 'rotated');
    const probe = await probeVideo(rotated);
    const frames = await collect(rotated, probe, { start: 3, count: 2 });
    expect(frames.length).toBe(48 * 64 * 3 * 2);
    const tenBit = await makeClip(dir, 'ten-bit');
    const deep = await probeVideo(tenBit);
    expect((await collect(tenBit, deep, { start: 0, count: 24 })).length).toBe(64 * 48 * 3 * 24);
  });

  it('fails clearly when the frames asked for are not there', async () => {
    const path = await makeClip(dir, 'basic');
    const probe = await probeVideo(path);
    await expect(
      collect(path, { ...probe, frameCount: 60, frameTimes: [...probe.frameTimes, 1e9] }, { start: 40, count: 20 }),
    ).rejects.toMatchObject({
      code: 'CORRUPT_VIDEO',
    });
  });
});

describe('segments joined', () => {
  it.each<ClipKind>(['basic', 'vfr', 'two-audio'])(
    'many segments give the frames, times and audio of one segment (%s)',
    async (kind) => {
      const path = await makeClip(dir, kind);
      const probe = await probeVideo(path);
      const many = await roundTrip(path, probe, 7, `${kind}-many`);
      const one = await roundTrip(path, probe, probe.frameCount, `${kind}-one`);
      const [manyProbe, oneProbe] = await Promise.all([probeVideo(many), probeVideo(one)]);
      // Same count and the same frame times as the original, to the tick of its time base.
      expect(manyProbe.frameCount).toBe(probe.frameCount);
      expect(manyProbe.timeBase).toEqual(probe.timeBase);
      expect(manyProbe.frameTimes).toEqual(probe.frameTimes);
      expect(oneProbe.frameTimes).toEqual(probe.frameTimes);
      expect(Math.abs(manyProbe.durationSeconds - probe.durationSeconds)).toBeLessThan(0.05);
      // The seams cost nothing visible: the same frames as the one-segment result (and the original).
      const [a, b, original] = await Promise.all([decodeAll(many), decodeAll(one), decodeAll(path)]);
      expect(psnr(a, b)).toBeGreaterThanOrEqual(45);
      // Against the original, RGB → yuv420p twice costs ≈ 36 dB on testsrc; a frame off by one would be < 20.
      expect(psnr(a, original)).toBeGreaterThanOrEqual(33);
      // Every audio track copied packet for packet, with its own timestamps.
      expect(manyProbe.streams).toEqual(probe.streams.map((s, i) => ({ ...s, index: i + 1 })));
      for (let i = 0; i < probe.streams.length; i++) {
        expect(await packetDigest(many, `0:a:${i}`)).toEqual(await packetDigest(path, `0:a:${i}`));
      }
    },
  );

  it('cuts odd sizes to even for yuv420p and keeps a clip without sound silent', async () => {
    const odd = await makeClip(dir, 'odd');
    const probe = await probeVideo(odd);
    const out = await roundTrip(odd, probe, 10, 'odd');
    expect(await probeVideo(out)).toMatchObject({
      width: 64,
      height: 48,
      frameCount: 24,
      pixelFormat: 'yuv420p',
      streams: [],
    });
  });

  it('keeps a stream MP4 cannot carry by writing Matroska, copying it as it is', async () => {
    const path = await makeClip(dir, 'opus-mkv');
    const probe = await probeVideo(path);
    expect(resultContainer(probe)).toBe('mkv');
    const out = await roundTrip(path, probe, 10, 'opus-out');
    expect((await probeVideo(out)).streams).toMatchObject([{ kind: 'audio', codec: 'opus' }]);
    expect(await packetDigest(out, '0:a:0')).toEqual(await packetDigest(path, '0:a:0'));
  });
});
