/**
 * The docker-compose.yml model as Compose resolves it: `docker compose config --format json` when the Compose
 * CLI plugin is installed (it validates against the Compose spec, interpolates and merges), otherwise the
 * YAML parsed here with Compose's default-value interpolation and merge keys, so the tests always assert.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { REPO_ROOT } from '../src/images.ts';

const PortSchema = z.union([
  z.string().transform((text) => {
    // [ip:]published:target[/proto] or a bare target
    const parts = text.split('/')[0]?.split(':') ?? [];
    return {
      published: parts.length >= 2 ? (parts.at(-2) ?? null) : null,
      target: Number(parts.at(-1)),
      host_ip: parts.length >= 3 ? (parts.at(-3) ?? null) : null,
    };
  }),
  z
    .object({ published: z.coerce.string().optional(), target: z.coerce.number(), host_ip: z.string().optional() })
    .transform((p) => ({ published: p.published ?? null, target: p.target, host_ip: p.host_ip ?? null })),
]);

const VolumeSchema = z.union([
  z.string().transform((text) => {
    const [source, target] = text.split(':');
    return { source: source ?? '', target: target ?? '' };
  }),
  z.object({ source: z.string(), target: z.string() }),
]);

const ServiceSchema = z.object({
  image: z.string().optional(),
  container_name: z.string().optional(),
  build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
  environment: z
    .record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean(), z.null()]).transform((v) => (v === null ? '' : String(v))),
    )
    .default({}),
  ports: z.array(PortSchema).default([]),
  volumes: z.array(VolumeSchema).default([]),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).default({}),
  healthcheck: z.object({ test: z.union([z.array(z.string()), z.string()]) }).optional(),
  deploy: z
    .object({
      replicas: z.coerce.number().optional(),
      resources: z
        .object({
          reservations: z
            .object({
              devices: z
                .array(
                  z.object({
                    driver: z.string(),
                    count: z.union([z.coerce.number(), z.literal('all')]).optional(),
                    capabilities: z.array(z.string()),
                  }),
                )
                .nullish(),
            })
            .optional(),
        })
        .optional(),
    })
    .optional(),
  stop_grace_period: z.string().optional(),
  restart: z.string().optional(),
});

export const ComposeModelSchema = z.object({
  name: z.string().optional(),
  services: z.record(z.string(), ServiceSchema),
  volumes: z.record(z.string(), z.unknown()).nullish(),
});
export type ComposeModel = z.output<typeof ComposeModelSchema>;
export type ComposeService = ComposeModel['services'][string];

export interface LoadedModel {
  model: ComposeModel;
  /** How it was resolved; `yaml` means the Compose CLI was not available (see `reason`). */
  via: 'docker compose config' | 'yaml';
  reason?: string;
}

/**
 * What an operator's .env must set: the compose file refuses to resolve without them (`${VAR:?…}`), so no
 * deployment runs on a default MinIO password, without API keys or with unsigned webhooks.
 */
export const OPERATOR_ENV: Record<string, string> = {
  MINIO_ROOT_PASSWORD: 'operator-chosen-minio-password',
  API_KEYS: 'operator-chosen-client-key-0001',
  CALLBACK_SECRET: 'operator-chosen-callback-secret',
};

/** A clean environment: variables from the test process must not leak into the interpolation. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = ['PATH', 'HOME', 'DOCKER_CONFIG'];
  return {
    ...Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : []))),
    ...extra,
  };
}

export function composeCliVersion(): string | undefined {
  try {
    return execFileSync('docker', ['compose', 'version', '--short'], {
      env: cleanEnv(),
      encoding: 'utf8',
      stdio: 'pipe',
    }).trim();
  } catch {
    return undefined;
  }
}

/**
 * `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}` (an error when unset or empty) and `${VAR}` against
 * `env`, and `$$` → `$`, as Compose does.
 */
function interpolate(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') {
    return value
      .replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-|:\?)([^}]*))?\}/g,
        (_m, name: string, op?: string, rest?: string) => {
          const set = env[name];
          if (op === ':?') {
            if (!set) throw new Error(`required variable ${name} is missing a value: ${rest}`);
            return set;
          }
          if (op === ':-') return set || (rest ?? '');
          if (op === '-') return set ?? rest ?? '';
          return set ?? '';
        },
      )
      .replace(/\$\$/g, '$');
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  }
  return value;
}

export function parseComposeYaml(file: string, env: Record<string, string> = OPERATOR_ENV): unknown {
  // Compose's own tags (`!reset`, `!override`) stay unresolved here: the tagged value is kept as written.
  return interpolate(parse(readFileSync(join(REPO_ROOT, file), 'utf8'), { merge: true, logLevel: 'error' }), env);
}

export function loadComposeModel(
  files: string[] = ['docker-compose.yml'],
  env: Record<string, string> = OPERATOR_ENV,
): LoadedModel {
  const version = composeCliVersion();
  if (version !== undefined) {
    const args = ['compose', '--project-directory', REPO_ROOT, ...files.flatMap((f) => ['-f', join(REPO_ROOT, f)])];
    const json = execFileSync('docker', [...args, 'config', '--format', 'json'], {
      env: cleanEnv(env),
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return { model: ComposeModelSchema.parse(JSON.parse(json)), via: 'docker compose config' };
  }
  if (files.length !== 1) throw new Error('merging several compose files needs the Compose CLI');
  return {
    model: ComposeModelSchema.parse(parseComposeYaml(files[0] as string, env)),
    via: 'yaml',
    reason: 'the Docker Compose CLI plugin is not installed (`docker compose version` failed)',
  };
}

export function service(model: ComposeModel, name: string): ComposeService {
  const found = model.services[name];
  if (!found) throw new Error(`compose has no service ${name}`);
  return found;
}
