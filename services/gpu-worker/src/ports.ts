/**
 * What the worker needs from its collaborators, as narrow structural types: the core storage/queue
 * repositories and the engine satisfy them directly, and tests can wrap them (fault injection) without the
 * worker knowing.
 */

import type { EnhanceOptionsInput } from '@photoenhance/contracts';
import type { JobQueue, Storage, TaskRepository } from '@photoenhance/core';
import type {
  DetectedFace,
  EnhanceResult,
  FrameContext,
  FrameResult,
  RgbFrame,
  RunContext,
} from '@photoenhance/engine';

/** Blobs (inputs, outputs) and the JSON objects the task repository is built on. */
export type WorkerStorage = Pick<
  Storage,
  'getBuffer' | 'put' | 'delete' | 'readJson' | 'readJsonVersioned' | 'writeJson' | 'probeConditionalWrites'
>;
/** What video jobs need on top: streamed input and result, segment listing and clean-up. */
export type VideoWorkerStorage = WorkerStorage &
  Pick<Storage, 'getStream' | 'upload' | 'list' | 'deletePrefix' | 'presignGet'>;
export type WorkerTasks = Pick<
  TaskRepository,
  'read' | 'write' | 'readVersioned' | 'writeVersioned' | 'readCancelMarker'
>;

/**
 * How a run fences its record writes against a newer delivery: `conditional` = If-Match on the ETag of the
 * record it last wrote (no read before a write), `read-then-write` = re-read and compare the attemptId first
 * (stores without conditional writes). `auto` probes the store once at start.
 */
export type FencingMode = 'conditional' | 'read-then-write';
export type WorkerQueue = Pick<JobQueue, 'receive' | 'delete' | 'changeVisibility' | 'receiveDlq' | 'deleteDlq'>;

export interface WorkerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WorkerEngine {
  warmUp(): Promise<void>;
  enhance(input: Buffer, options: EnhanceOptionsInput, ctx: RunContext): Promise<EnhanceResult>;
  close(): Promise<void>;
  /** Active provider and model states, announced at registration (the core engine has it; test engines may not). */
  readiness?(): { provider: string; models: Record<string, string> };
  /** Video frames (raw RGB in and out); a worker whose engine lacks them fails video jobs clearly. */
  enhanceFrame?(frame: RgbFrame, options: EnhanceOptionsInput, ctx: FrameContext): Promise<FrameResult>;
  detectFrameFaces?(frame: RgbFrame, options: EnhanceOptionsInput): Promise<DetectedFace[]>;
}

/** Why a running job was stopped from outside the engine. */
export type AbortKind = 'cancelled' | 'shutdown' | 'killed' | 'lease-lost';

export class JobAbort {
  readonly kind: AbortKind;
  constructor(kind: AbortKind) {
    this.kind = kind;
  }
}

export function abortKind(signal: AbortSignal): AbortKind | undefined {
  return signal.aborted && signal.reason instanceof JobAbort ? signal.reason.kind : undefined;
}
