import type { EnhanceOptions, VideoProbe } from '@photoenhance/contracts';
import { PhotoEnhanceError } from '@photoenhance/contracts';
import { type DetectedFace, FaceTracker, type RgbFrame } from '@photoenhance/engine';

export { TRACK_WARMUP_FRAMES } from '@photoenhance/engine';

import type { WorkerEngine } from '../ports.ts';

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
