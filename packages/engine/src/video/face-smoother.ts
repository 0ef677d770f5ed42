import type { EnhanceOptionsInput } from '@photoenhance/contracts';
import type { DetectedFace } from '../face/detect.ts';
import type { RgbFrame } from '../pipeline/types.ts';
import { FaceTracker, type FaceTrackerOptions } from './face-tracker.ts';

/** What the smoother needs of an engine (the in-process, threaded or a worker's engine). */
export interface FrameFaceDetector {
  detectFrameFaces(frame: RgbFrame, options?: EnhanceOptionsInput): Promise<DetectedFace[]>;
}

/**
 * Detect → track → smooth, frame by frame, on the clip's own frame times (seconds): the faces to hand to
 * `enhanceFrame` as `ctx.faces`. Shared by the worker's segment jobs and the CLI.
 */
export function createFaceSmoother(
  engine: FrameFaceDetector,
  options: EnhanceOptionsInput,
  tracker: FaceTrackerOptions = {},
) {
  const faces = new FaceTracker(tracker);
  return {
    async next(frame: RgbFrame, seconds: number): Promise<DetectedFace[]> {
      return faces.update(await engine.detectFrameFaces(frame, options), seconds);
    },
  };
}
