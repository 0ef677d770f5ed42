import sharp from 'sharp';

/**
 * A JPEG of about `targetBytes`: a colour gradient under full-strength noise, saved at quality 100 with no
 * chroma subsampling. Noise keeps the entropy coder busy, so ~1 MB needs only ~0.37 MP (≈2.8 bytes/pixel) —
 * fewer pixels for the engine than a photo of the same size. Seeded, so every run uploads the same bytes.
 */
export async function benchJpeg(
  targetBytes = 1_000_000,
  seed = 1,
): Promise<{ image: Buffer; width: number; height: number }> {
  const BYTES_PER_PIXEL = 2.8;
  const width = Math.max(16, Math.round(Math.sqrt((targetBytes / BYTES_PER_PIXEL) * (4 / 3))));
  const height = Math.round((width * 3) / 4);
  const pixels = Buffer.alloc(width * height * 3);
  let state = seed >>> 0 || 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const gradient = [(x / width) * 255, (y / height) * 255, ((x + y) / (width + height)) * 255];
      for (let c = 0; c < 3; c++) {
        // xorshift32: cheap, deterministic, and good enough to defeat JPEG's entropy coding.
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        const noise = ((state >>> 0) / 0x1_0000_0000 - 0.5) * 255;
        pixels[i + c] = Math.max(0, Math.min(255, Math.round((gradient[c] as number) + noise)));
      }
    }
  }
  const image = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
    .toBuffer();
  return { image, width, height };
}
