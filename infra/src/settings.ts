import { PhotoEnhanceError } from '@photoenhance/contracts';
import { z } from 'zod';

/** Comma-separated list in one context value (`-c corsOrigins=https://a.example,https://b.example`). */
const commaList = z
  .string()
  .min(1)
  .transform((text) =>
    text
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().min(1)).min(1));

/** CDK context values arrive as strings from `-c key=value` and as JSON values from cdk.json: accept both. */
const intSetting = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * What a deployment may choose, read from CDK context (cdk.json or `-c key=value`). Defaults give a small
 * production shape: two API tasks, GPU workers scaled from zero to four on queue depth.
 */
export const DeploymentSettingsSchema = z
  .object({
    /**
     * Hours a finished task's photos, result and record are kept (the API's RETENTION_HOURS, decimals allowed).
     * The API answers 410 EXPIRED and sweeps at that exact time; the bucket's lifecycle rules back it up in whole
     * days (lifecycleDays).
     */
    retentionHours: z.coerce
      .number()
      .positive()
      .max(24 * 3650)
      .default(24),
    /** Browser origins allowed to PUT uploads and GET results straight from the bucket, and to call the API. */
    corsOrigins: z.union([commaList, z.array(z.string().min(1)).min(1)]).default(['*']),
    /** Receives before a job is dead-lettered (the task then fails with EXHAUSTED). */
    maxReceiveCount: intSetting(3, 1, 1000),
    /** Seconds a received job stays hidden; workers extend it every third of that. */
    visibilityTimeoutSeconds: intSetting(300, 30, 43_200),
    apiDesiredCount: intSetting(2, 1, 100),
    apiMaxCount: intSetting(6, 1, 200),
    /** Fargate task size: 1024 = 1 vCPU. */
    apiCpu: z.coerce
      .number()
      .pipe(z.union([z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]))
      .default(1024),
    apiMemoryMiB: intSetting(2048, 1024, 30_720),
    /** GPU instance type: one worker per GPU (g5.xlarge: one A10G, 24 GB; g4dn.xlarge: one T4, 16 GB). */
    gpuInstanceType: z
      .string()
      .regex(/^(g4dn|g5|g6|g6e)\.[a-z0-9]+$/, 'must be a g4dn, g5, g6 or g6e instance type')
      .default('g5.xlarge'),
    minWorkers: intSetting(0, 0, 100),
    maxWorkers: intSetting(4, 1, 100),
    /** Memory reserved per worker task; leave room for the ECS agent on the instance. */
    workerMemoryMiB: intSetting(12_288, 2048, 786_432),
    /** ACM certificate for HTTPS on the load balancer; plain HTTP without one. */
    certificateArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:acm:/, 'must be an ACM certificate ARN')
      .optional(),
    /** WAF rate-based rule: requests one IP may send in 5 minutes before it is blocked (AWS minimum 10). */
    wafRequestsPer5Minutes: intSetting(2000, 10, 2_000_000_000),
    /** Prebuilt images (e.g. in ECR); without them `cdk deploy` builds infra/docker/*.Dockerfile. */
    apiImage: z.string().min(1).optional(),
    workerImage: z.string().min(1).optional(),
  })
  .refine((s) => s.maxWorkers >= s.minWorkers, { message: 'maxWorkers must be ≥ minWorkers', path: ['maxWorkers'] })
  .refine((s) => s.apiMaxCount >= s.apiDesiredCount, {
    message: 'apiMaxCount must be ≥ apiDesiredCount',
    path: ['apiMaxCount'],
  });

export type DeploymentSettings = z.output<typeof DeploymentSettingsSchema>;

/**
 * RETENTION_HOURS as S3 lifecycle days: rounded up, as S3 expires only in whole days counted from an object's
 * creation, plus one day because an input is created when the task is queued, not when it finishes (a task may
 * wait and run before its retention even starts). The API's own check and sweeper stay exact.
 */
export function lifecycleDays(retentionHours: number): number {
  return Math.ceil(retentionHours / 24) + 1;
}

export const SETTING_NAMES = Object.keys(DeploymentSettingsSchema.shape) as (keyof DeploymentSettings)[];

/**
 * Settings from a context lookup (`app.node.tryGetContext`), refusing unknown shapes with every bad key named.
 */
export function readDeploymentSettings(lookup: (key: string) => unknown): DeploymentSettings {
  const raw: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const value = lookup(name);
    if (value !== undefined && value !== null && value !== '') raw[name] = value;
  }
  const parsed = DeploymentSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(settings)'}: ${issue.message}`);
    throw new PhotoEnhanceError(
      'INVALID_OPTIONS',
      `Invalid PhotoEnhance deployment settings (CDK context):\n  ${problems.join('\n  ')}`,
      { cause: parsed.error, details: { settings: parsed.error.issues.map((issue) => issue.path.join('.')) } },
    );
  }
  return parsed.data;
}
