import { PhotoEnhanceError } from '@photoenhance/contracts';
import { z } from 'zod';

/** Building blocks for env schemas: env values are strings, these parse them with clear messages. */

export function envInt(defaultValue: number, bounds: { min?: number; max?: number } = {}) {
  let schema = z.coerce.number({ error: 'must be a number' }).int('must be a whole number');
  if (bounds.min !== undefined) schema = schema.min(bounds.min, `must be at least ${bounds.min}`);
  if (bounds.max !== undefined) schema = schema.max(bounds.max, `must be at most ${bounds.max}`);
  return schema.default(defaultValue);
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

export function envBool(defaultValue: boolean) {
  return z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => TRUE.includes(v) || FALSE.includes(v), 'must be true or false')
    .transform((v) => TRUE.includes(v))
    .optional()
    .transform((v) => v ?? defaultValue);
}

export function envUrl() {
  return z.url({ error: 'must be a URL such as http://127.0.0.1:4566' });
}

/** A comma-separated list (unset = empty): items trimmed, empty ones dropped, each checked by `item`. */
export function envList<T extends z.ZodType<unknown, string>>(item: T) {
  return z
    .string()
    .optional()
    .transform((text) =>
      (text ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Variables whose values must never appear in messages or logs. */
export function isSecretVariable(name: string): boolean {
  return /SECRET|PASSWORD|TOKEN|API_KEY/i.test(name);
}

/**
 * Parses `env` with `schema`, treating empty strings as unset. Refuses with ONE error that names every bad
 * variable (INVALID_OPTIONS, details.variables), so a misconfigured process says everything at once.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  const cleaned: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') cleaned[name] = value;
  }
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const variable = issue.path.length > 0 ? issue.path.join('.') : '(config)';
    const name = issue.path[0];
    // Secrets are never echoed, not even in a refusal message that ends up in logs.
    const shown =
      typeof name === 'string' && cleaned[name] !== undefined
        ? isSecretVariable(name)
          ? ' (value hidden)'
          : ` (got "${cleaned[name]}")`
        : '';
    return { variable, message: `${variable}: ${issue.message}${shown}` };
  });
  throw new PhotoEnhanceError(
    'INVALID_OPTIONS',
    `Invalid configuration:\n  ${problems.map((p) => p.message).join('\n  ')}`,
    {
      cause: parsed.error,
      details: { variables: [...new Set(problems.map((p) => p.variable))] },
    },
  );
}
