import { PhotoEnhanceError } from '@photoenhance/contracts';
import sharp from 'sharp';
import type { PlanarImage } from './planar.ts';

export type ResizeKernel = 'lanczos3' | 'cubic' | 'mitchell';

const U16_MAX = 65535;

async function resizePlane(
  plane: Float32Array,
  src: PlanarImage,
  width: number,
  height: number,
  kernel: ResizeKernel,
): Promise<Uint16Array> {
  // libvips resamples float input in float. sharp labels 1-band float as 16-bit grey and casts to
  // ushort on output, so scale into that range here (+0.5: the cast truncates) — the result keeps
  // 16 bits, well below the model's own noise, instead of quantising to 8 bits before the resize.
  // The cast also clamps the kernel's ringing to [0, 1].
  const { data } = await sharp(plane, {
    raw: { width: src.width, height: src.height, channels: 1 },
    limitInputPixels: false,
  })
    .resize(width, height, { kernel, fit: 'fill' })
    .linear(U16_MAX, 0.5)
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
}

/**
 * High-quality resize of every plane to exactly width × height (aspect ratio not kept: callers pass
 * the size they computed). Planes are resized independently, so alpha should be passed as its own
 * image; for heavy downscales of images with transparency, premultiply first to avoid colour fringes.
 */
export async function resizePlanar(
  img: PlanarImage,
  width: number,
  height: number,
  kernel: ResizeKernel = 'lanczos3',
): Promise<PlanarImage> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new PhotoEnhanceError('INTERNAL', `resizePlanar: invalid target size ${width}×${height}`, {
      details: { width, height },
    });
  }
  const srcPixels = img.width * img.height;
  if (img.data.length !== srcPixels * img.channels) {
    throw new PhotoEnhanceError(
      'INTERNAL',
      `resizePlanar: ${img.data.length} values for ${img.width}×${img.height}×${img.channels}`,
    );
  }
  if (width === img.width && height === img.height) return { ...img, data: img.data.slice() };
  const pixels = width * height;
  const out = new Float32Array(pixels * img.channels);
  const planes = Array.from({ length: img.channels }, (_, c) => img.data.subarray(c * srcPixels, (c + 1) * srcPixels));
  const resized = await Promise.all(planes.map((plane) => resizePlane(plane, img, width, height, kernel)));
  const scale = 1 / U16_MAX;
  resized.forEach((plane, c) => {
    const base = c * pixels;
    for (let i = 0; i < pixels; i++) out[base + i] = (plane[i] as number) * scale;
  });
  return { width, height, channels: img.channels, data: out };
}
