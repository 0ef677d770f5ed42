import type { EnhanceOptions, VideoProbe } from '@photoenhance/contracts';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { type DetectedFace, FaceTracker, type RgbFrame } from '@photoenhance/engine';
import type { WorkerEngine } from '../ports.ts';

/**
 * Frames before a segment that are only detected (not enhanced) to rebuild the tracker's state: at 0.8 Hz the
 * One-Euro filter's time constant is 0.2 s, so 8 frames (≥ 0.27 s at 30 fps) bring it within a few percent of
 * where the previous segment's run left it.
 */
export const TRACK_WARMUP_FRAMES = 8;

/** Detect → track → smooth, frame by frame, on the clip's own frame times. */
export function createFaceSmoother(engine: WorkerEngine, options: EnhanceOptions, probe: VideoProbe) {
  if (!engine.detectFrameFaces)
    throw new PhotoEnhanceError('MODEL_NOT_READY', 'This worker cannot detect faces on frames');
  const detect = engine.detectFrameFaces.bind(engine);
  const tracker = new FaceTracker();
  const seconds = (index: number) => ((probe.frameTimes[index] ?? 0) * probe.timeBase.num) / probe.timeBase.den;
  return {
    async next(frame: RgbFrame, index: number): Promise<DetectedFace[]> {
      return tracker.update(await detect(frame, options), seconds(index));
    },
  };
}
