import type { EncodedFormat, EngineStage, FaceReport } from '@photoenhance/contracts';

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
