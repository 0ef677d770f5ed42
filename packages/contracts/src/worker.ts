import { z } from 'zod';

/**
 * Worker self-registration (design.md §1): the worker announces itself to the API (and optionally an external
 * gateway) with signed POSTs. One body shape for every event, so a gateway can take them all at one URL.
 */

export const WORKER_EVENTS = ['register', 'heartbeat', 'deregister'] as const;
export type WorkerEvent = (typeof WORKER_EVENTS)[number];

export const WorkerIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1–128 letters, digits, . _ or -');

export const WORKER_STATES = ['warming', 'idle', 'busy', 'stopping'] as const;

/** One model a worker can run, as it reports it: installed (`ready`) or not, and whether requests get it by default. */
export const WorkerModelSchema = z.object({
  id: z.string().max(128),
  task: z.enum(['upscale', 'face-detect', 'face-restore']),
  ready: z.boolean(),
  default: z.boolean(),
  /** Face restorers: the side of the aligned face crop they take (GPEN-BFR 256…2048, GFPGAN 512). */
  face_size: z.number().int().positive().max(8192).optional(),
});
export type WorkerModel = z.infer<typeof WorkerModelSchema>;

export const WorkerInfoSchema = z.object({
  workerId: WorkerIdSchema,
  /** Where the worker's health/metrics server can be reached (absent when discovery found nothing). */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  /** Which discovery step found the address: config, imds, ip-lookup, interface. */
  addressSource: z.enum(['config', 'imds', 'ip-lookup', 'interface']).optional(),
  version: z.string().max(64),
  /** ONNX Runtime execution providers configured (most preferred first) and the one actually active. */
  providers: z.array(z.string().max(32)).max(16),
  activeProvider: z.string().max(32).optional(),
  gpu: z
    .array(z.object({ name: z.string().max(200), memoryMiB: z.number().int().min(0).optional() }))
    .max(64)
    .default([]),
  /** Models loaded (warmed) at announcement time. */
  models: z.array(z.string().max(128)).max(64).default([]),
  /** Every model the worker knows (built-in and registered), so clients can offer only what some worker has. */
  catalog: z.array(WorkerModelSchema).max(64).default([]),
  /** Jobs processed at the same time. */
  capacity: z.number().int().min(1).max(1024),
  state: z.enum(WORKER_STATES),
  currentTask: z.string().max(64).nullable().default(null),
  jobs: z.record(z.string(), z.number().int().min(0)).default({}),
  startedAt: z.iso.datetime({ offset: true }),
});
export type WorkerInfo = z.infer<typeof WorkerInfoSchema>;
export type WorkerInfoInput = z.input<typeof WorkerInfoSchema>;

export const WorkerAnnouncementSchema = z.object({
  event: z.enum(WORKER_EVENTS),
  /** Random per request: makes every signed body unique, so replays are recognisable. */
  nonce: z.string().min(16).max(128),
  sentAt: z.iso.datetime({ offset: true }),
  worker: WorkerInfoSchema,
});
export type WorkerAnnouncement = z.infer<typeof WorkerAnnouncementSchema>;
export type WorkerAnnouncementInput = z.input<typeof WorkerAnnouncementSchema>;

/** workers/{workerId}.json — written by the API only. */
export const WorkerRecordSchema = WorkerInfoSchema.extend({
  registeredAt: z.iso.datetime({ offset: true }),
  lastSeenAt: z.iso.datetime({ offset: true }),
  /** Set when the worker said goodbye (clean shutdown); a crashed worker just stops heartbeating. */
  deregisteredAt: z.iso.datetime({ offset: true }).optional(),
});
export type WorkerRecord = z.infer<typeof WorkerRecordSchema>;
export type WorkerRecordInput = z.input<typeof WorkerRecordSchema>;
