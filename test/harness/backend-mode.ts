/**
 * Which S3 + SQS backend a test stack runs on — a pure decision from the environment and whether a Docker
 * engine answered, so the rules are unit-tested without Docker:
 *  1. PHOTOENHANCE_TEST_BACKEND=embedded|containers|external forces a mode (containers: even when the probe
 *     said no, e.g. a TLS or ssh DOCKER_HOST the probe cannot reach — testcontainers then reports its own error);
 *  2. S3_ENDPOINT / SQS_ENDPOINT / SQS_QUEUE_URL name running services: external;
 *  3. a Docker engine answers: containers (MinIO + LocalStack via testcontainers);
 *  4. otherwise embedded (fauxqs in-process).
 */
import { loadConfig } from '@photoenhance/core';
import { z } from 'zod';

export const STACK_MODES = ['external', 'containers', 'embedded'] as const;
export type StackMode = (typeof STACK_MODES)[number];

export interface StackModeDecision {
  mode: StackMode;
  /** Why, for the log line that says which backend ran. */
  reason: string;
}

const EXTERNAL_VARIABLES = ['S3_ENDPOINT', 'SQS_ENDPOINT', 'SQS_QUEUE_URL'] as const;

const ModeEnvSchema = z.object({
  PHOTOENHANCE_TEST_BACKEND: z.enum(STACK_MODES).optional(),
  S3_ENDPOINT: z.string().optional(),
  SQS_ENDPOINT: z.string().optional(),
  SQS_QUEUE_URL: z.string().optional(),
});

/** Throws INVALID_OPTIONS naming PHOTOENHANCE_TEST_BACKEND when it holds anything but the three modes. */
export function decideStackMode(env: Record<string, string | undefined>, dockerAnswers: boolean): StackModeDecision {
  // loadConfig treats empty strings as unset, as every process's config does.
  const vars = loadConfig(ModeEnvSchema, env);
  if (vars.PHOTOENHANCE_TEST_BACKEND) {
    return { mode: vars.PHOTOENHANCE_TEST_BACKEND, reason: 'forced by PHOTOENHANCE_TEST_BACKEND' };
  }
  const named = EXTERNAL_VARIABLES.filter((name) => vars[name] !== undefined);
  if (named.length > 0) {
    const alsoDocker = dockerAnswers ? '; a Docker engine answers too, but named endpoints win' : '';
    return { mode: 'external', reason: `the environment names ${named.join(', ')}${alsoDocker}` };
  }
  if (dockerAnswers) return { mode: 'containers', reason: 'a Docker engine answers' };
  return { mode: 'embedded', reason: 'no endpoints named and no Docker engine answers' };
}
