import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createThreadedEngine, type Engine, type RgbFrame } from '@photoenhance/engine';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, solidRedRestorerBytes } from '../face/helpers.ts';

// enhanceFrame is the video path: raw RGB in, raw RGB out, through the same stages as a photo.
let engine: Engine;
let threaded: Engine;
let dir: string;
let redPath: string;
let astronaut: RgbFrame;

async function rawFrame(input: Buffer): Promise<RgbFrame> {
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

beforeAll(async () => {
  const runtime = { executionProviders: ['cpu'], intraOpThreads: 1 };
  engine = createEngine({ runtime, allowModelPaths: true });
  threaded = createThreadedEngine({ runtime, allowModelPaths: true });
  dir = await mkdtemp(join(tmpdir(), 'frame-test-'));
  redPath = join(dir, 'red.onnx');
  await writeFile(redPath, solidRedRestorerBytes());
  astronaut = await rawFrame(await readFile(join(FIXTURES, 'astronaut.jpg')));
});

afterAll(async () => {
  await Promise.all([engine.close(), threaded.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('enhanceFrame', () => {
  it('gives the same pixels as enhance() on a lossless file of the same frame', async () => {
    const frame: RgbFrame = { width: 13, height: 7, data: new Uint8Array(13 * 7 * 3).map((_, i) => (i * 37) % 256) };
    const options = { scale: 2, quality: 'fast', face: { enabled: false }, output: { format: 'png' } } as const;
    const viaFrame = await engine.enhanceFrame(frame, options);
    const png = await sharp(Buffer.from(frame.data), { raw: { width: 13, height: 7, channels: 3 } })
      .png()
      .toBuffer();
    const viaFile = await sharp((await engine.enhance(png, options)).data)
      .raw()
      .toBuffer();
    expect([viaFrame.frame.width, viaFrame.frame.height]).toEqual([26, 14]);
    expect(Buffer.from(viaFrame.frame.data).equals(viaFile)).toBe(true);
    expect(viaFrame.models.some((m) => m.startsWith('realesrgan-x4fast'))).toBe(true);
  });

  it('restores the faces the caller hands in instead of detecting them, through the engine thread too', async () => {
    const options = { scale: 1, backgroundUpsampler: false, face: { model: redPath } } as const;
    const faces = await threaded.detectFrameFaces(astronaut, options);
    expect(faces).toHaveLength(1);
    // No faces given: detected on the frame. An empty list given: nothing restored, the frame is untouched.
    const detected = await threaded.enhanceFrame(astronaut, options);
    expect(detected.faces).toMatchObject({ detected: 1, restored: 1 });
    const none = await threaded.enhanceFrame(astronaut, options, { faces: [] });
    expect(none.faces).toMatchObject({ detected: 0, restored: 0 });
    expect(Buffer.from(none.frame.data).equals(Buffer.from(astronaut.data))).toBe(true);
    // The given face is the one pasted: between the eyes is red (the stand-in restorer paints red).
    const given = await threaded.enhanceFrame(astronaut, options, { faces });
    expect(given.faces).toMatchObject({ detected: 1, restored: 1 });
    // Between the astronaut's eyes ((204,101) and (245,102.5), fixtures README).
    const at = (102 * astronaut.width + 225) * 3;
    const [r, g, b] = Array.from(given.frame.data.subarray(at, at + 3)) as [number, number, number];
    expect(r).toBeGreaterThan(240);
    expect(g).toBeLessThan(15);
    expect(b).toBeLessThan(15);
  });

  it('refuses a frame whose sample count does not match its size', async () => {
    await expect(engine.enhanceFrame({ width: 4, height: 4, data: new Uint8Array(10) })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });
});
