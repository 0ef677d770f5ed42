/**
 * The fixed choices of an enhance request and the engine's stages, as plain lists (no zod: the browser
 * bundle imports this module as `@photoenhance/contracts/choices`). The zod schemas in options.ts are
 * built from these, so a level or a stage is added here once.
 */

/** Quality levels a client or the CLI may ask for (`auto` follows the worker's hardware). */
export const QUALITY_LEVELS = ['fast', 'medium', 'high', 'auto'] as const;
export type QualityLevel = (typeof QUALITY_LEVELS)[number];

/** Numeric precision of the upscaler: auto = int8 on CPU where shipped (fidelity floor passed), fp16 on GPUs, else fp32. */
export const PRECISIONS = ['auto', 'fp32', 'fp16', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** The engine's stages in pipeline order: progress weights and the task record's `stage` come from this list. */
export const ENGINE_STAGES = ['decode', 'detect', 'upscale', 'restore', 'resize', 'encode'] as const;
export type EngineStage = (typeof ENGINE_STAGES)[number];

/** The worker's own stages of a photo job around the engine's: fetching the input, storing the result. */
export const WORKER_STAGES = ['download', 'store'] as const;
export type WorkerStage = (typeof WORKER_STAGES)[number];
