/**
 * What the worker needs from its collaborators, as narrow structural interfaces: the core storage/queue
 * repositories and the engine satisfy them directly, and tests can wrap them (fault injection) without
 * the worker knowing.
 */
import type { EnhanceOptionsInput, EnhanceResult, RunContext } from '@photoenhance/core';

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** SQS ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount: number;
}

export interface WorkerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WorkerEngine {
  warmUp(): Promise<void>;
  readiness(): { ready: boolean };
  enhance(input: Buffer, options: EnhanceOptionsInput, ctx: RunContext): Promise<EnhanceResult>;
  close(): Promise<void>;
}
