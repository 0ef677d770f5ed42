import { isPhotoEnhanceError } from '@photoenhance/contracts';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStoredImage } from '../../../src/routes/uploads/verify-object.ts';
import { startTestApi, type TestApi } from '../../harness.ts';

/** Small bounds, so files of a few KiB take the paths big files take: probed from a prefix, checked as a stream. */
const LIMITS = {
  maxFileBytes: 1_000_000,
  maxInputPixels: 1_000_000,
  maxOutputPixels: 100_000_000,
  prefixBytes: 1024,
};

let api: TestApi;
let noiseJpeg: Buffer;
beforeAll(async () => {
  api = await startTestApi();
  noiseJpeg = await sharp({
    create: {
      width: 96,
      height: 96,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 50 },
    },
  })
    .jpeg({ quality: 95 })
    .toBuffer();
});
afterAll(async () => {
  await api?.dispose();
});

async function verify(name: string, bytes: Buffer) {
  const key = `inputs/0f1e2d3c-4b5a-4c6d-8e7f-${name.padStart(12, '0')}/x`;
  await api.backend.storage.put(key, bytes);
  const object = await api.backend.storage.head(key);
  if (!object) throw new Error('not stored');
  return verifyStoredImage(api.backend.storage, object, 1, LIMITS);
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (isPhotoEnhanceError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('direct-upload verification with bounded reads', () => {
  it('checks a JPEG bigger than the whole-read bound as a stream: accepts it whole, refuses it cut short', async () => {
    expect(noiseJpeg.length).toBeGreaterThan(LIMITS.prefixBytes * 2);
    expect(await verify('000000000001', noiseJpeg)).toMatchObject({ format: 'jpeg', width: 96, height: 96 });
    const cut = noiseJpeg.subarray(0, noiseJpeg.length - 200);
    expect(await refusal(verify('000000000002', cut))).toMatchObject({ code: 'CORRUPT_IMAGE' });
  });

  it('walks a TIFF bigger than the prefix through its directories only, and refuses one cut short', async () => {
    const big = await sharp(noiseJpeg).tiff({ compression: 'none' }).toBuffer();
    // sharp writes the TIFF directory at the end: past the prefix, so it is found by a ranged read.
    expect(big.readUInt32LE(4)).toBeGreaterThan(LIMITS.prefixBytes);
    expect(await verify('000000000004', big)).toMatchObject({ format: 'tiff', width: 96, height: 96 });
    const cut = await refusal(verify('000000000005', big.subarray(0, big.length - 10)));
    expect(cut).toMatchObject({ code: 'CORRUPT_IMAGE', message: expect.stringContaining('TIFF file is truncated') });
  });
});
