import type { EncodedFormat, EngineStage, FaceReport } from '@photoenhance/contracts';
import type { DetectedFace } from '../face/detect.ts';

export interface ProgressEvent {
  stage: EngineStage;
  /** Overall progress 0–1 across all stages. */
  progress: number;
  /** Stage-local detail, e.g. tiles done / total. */
  done?: number;
  total?: number;
}

export interface RunContext {
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

export interface EnhanceResult {
  data: Buffer;
  format: EncodedFormat;
  width: number;
  height: number;
  input: { format: string; width: number; height: number; bytes: number };
  faces: FaceReport;
  models: string[];
  /** Seconds per stage. */
  timings: Partial<Record<EngineStage, number>>;
  warnings: string[];
}

/**
 * 8-bit interleaved RGB pixels, row after row: one video frame in or out (ffmpeg's rawvideo rgb24), so a
 * clip never goes through an image file per frame.
 */
export interface RgbFrame {
  width: number;
  height: number;
  /** width * height * 3 samples. */
  data: Uint8Array;
}

export interface FrameContext extends RunContext {
  /**
   * Faces to restore on this frame instead of detecting them (video: faces tracked across frames with
   * smoothed landmarks, from `detectFrameFaces` of this and earlier frames). Data, not a callback, so it
   * crosses the engine thread. Ignored when the options turn faces off.
   */
  faces?: DetectedFace[];
}

/** What `enhanceFrame` gives back: the frame at the requested scale and the same report as a photo. */
export type FrameResult = Omit<EnhanceResult, 'data' | 'format' | 'input' | 'width' | 'height'> & { frame: RgbFrame };
