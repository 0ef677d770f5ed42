import { PhotoEnhanceError, type VideoLimits, type VideoProbe } from '@photoenhance/contracts';

/** Size of the encoded frames: the scaled frame, cut to even sides for yuv420p (at most one pixel each way). */
export function outputFrameSize(probe: Pick<VideoProbe, 'width' | 'height'>, scale: number) {
  const width = Math.max(1, Math.round(probe.width * scale));
  const height = Math.max(1, Math.round(probe.height * scale));
  return {
    width,
    height,
    encodedWidth: Math.max(2, width - (width % 2)),
    encodedHeight: Math.max(2, height - (height % 2)),
  };
}

/** Refuses a clip over the limits, naming the limit: VIDEO_TOO_LONG, TOO_MANY_PIXELS or OUTPUT_TOO_LARGE. */
export function checkVideoLimits(probe: VideoProbe, limits: VideoLimits, scale: number): void {
  if (probe.durationSeconds > limits.maxSeconds) {
    throw new PhotoEnhanceError(
      'VIDEO_TOO_LONG',
      `The video lasts ${probe.durationSeconds.toFixed(1)} s; the limit is ${limits.maxSeconds} s (VIDEO_MAX_SECONDS)`,
      { details: { seconds: probe.durationSeconds, maxSeconds: limits.maxSeconds } },
    );
  }
  if (probe.frameCount > limits.maxFrames) {
    throw new PhotoEnhanceError(
      'VIDEO_TOO_LONG',
      `The video has ${probe.frameCount} frames; the limit is ${limits.maxFrames} (VIDEO_MAX_FRAMES)`,
      { details: { frames: probe.frameCount, maxFrames: limits.maxFrames } },
    );
  }
  const pixels = probe.width * probe.height;
  if (pixels > limits.maxInputPixels) {
    throw new PhotoEnhanceError(
      'TOO_MANY_PIXELS',
      `Frames of ${probe.width}×${probe.height} exceed ${limits.maxInputPixels} pixels`,
      { details: { width: probe.width, height: probe.height, maxPixels: limits.maxInputPixels } },
    );
  }
  const out = outputFrameSize(probe, scale);
  if (out.width * out.height > limits.maxOutputPixels) {
    throw new PhotoEnhanceError(
      'OUTPUT_TOO_LARGE',
      `At scale ${scale} the frames would be ${out.width}×${out.height}, over ${limits.maxOutputPixels} pixels: choose a smaller scale`,
      { details: { width: out.width, height: out.height, maxPixels: limits.maxOutputPixels } },
    );
  }
}
