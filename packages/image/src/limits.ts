import { PhotoEnhanceError } from '@photoenhance/contracts';

/** Size limits applied to every image before any pixel is decoded. */
export interface ImageLimits {
  /** Largest accepted upload in bytes. */
  maxFileBytes: number;
  /** Largest accepted input in pixels (width × height, after EXIF orientation). */
  maxInputPixels: number;
  /** Largest result in pixels; guards against scale × input blowing up memory. */
  maxOutputPixels: number;
}

export const DEFAULT_LIMITS: ImageLimits = Object.freeze({
  maxFileBytes: 50 * 1024 * 1024,
  maxInputPixels: 40_000_000,
  maxOutputPixels: 400_000_000,
});

export function resolveLimits(limits: Partial<ImageLimits> | undefined): ImageLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}

export function assertFileSize(bytes: number, limits: ImageLimits): void {
  if (bytes === 0) throw new PhotoEnhanceError('EMPTY_FILE', 'The file is empty', { details: { bytes } });
  if (bytes > limits.maxFileBytes) {
    throw new PhotoEnhanceError(
      'FILE_TOO_LARGE',
      `The file is ${bytes} bytes; the limit is ${limits.maxFileBytes} bytes`,
      {
        details: { bytes, maxFileBytes: limits.maxFileBytes },
      },
    );
  }
}

export function assertInputPixels(width: number, height: number, limits: ImageLimits): void {
  const pixels = width * height;
  if (pixels > limits.maxInputPixels) {
    throw new PhotoEnhanceError(
      'TOO_MANY_PIXELS',
      `The image is ${width}×${height} (${pixels} pixels); the limit is ${limits.maxInputPixels} pixels`,
      { details: { width, height, pixels, maxInputPixels: limits.maxInputPixels } },
    );
  }
}

/** Output dimensions for an input scaled by `scale` (rounded, at least 1 px). */
export function scaledSize(width: number, height: number, scale: number): { width: number; height: number } {
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Throws OUTPUT_TOO_LARGE when `width × height` scaled by `scale` exceeds maxOutputPixels. */
export function checkOutputSize(width: number, height: number, scale: number, limits?: Partial<ImageLimits>): void {
  const { maxOutputPixels } = resolveLimits(limits);
  const out = scaledSize(width, height, scale);
  const pixels = out.width * out.height;
  if (pixels > maxOutputPixels) {
    throw new PhotoEnhanceError(
      'OUTPUT_TOO_LARGE',
      `Scaling ${width}×${height} by ${scale} gives ${out.width}×${out.height} (${pixels} pixels); the limit is ${maxOutputPixels} pixels`,
      { details: { width, height, scale, outputWidth: out.width, outputHeight: out.height, pixels, maxOutputPixels } },
    );
  }
}
