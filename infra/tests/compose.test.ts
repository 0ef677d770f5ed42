import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadApiConfig } from '@photoenhance/api';
import { loadWorkerConfig } from '@photoenhance/gpu-worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/images.ts';
import {
  type ComposeModel,
  type LoadedModel,
  loadComposeModel,
  OPERATOR_ENV,
  parseComposeYaml,
  service,
} from './compose-model.ts';

let loaded: LoadedModel;
let model: ComposeModel;

beforeAll(() => {
  loaded = loadComposeModel();
  model = loaded.model;
  if (loaded.via === 'yaml') console.info(`compose checks parse the YAML directly: ${loaded.reason}`);
});

describe('docker-compose.yml', () => {
  it('backs the API retention (RETENTION_HOURS) with bucket rules on photos, results and records', () => {
    expect(loadApiConfig(service(model, 'api').environment).RETENTION_HOURS).toBe(24);
    // Interpolated as Compose does: $$ is a literal $ for the container's shell, ${VAR:-default} its default.
    const raw = parseComposeYaml('docker-compose.yml') as {
      services: Record<string, { command?: string[] | string; environment?: Record<string, string> }>;
    };
    const init = raw.services['minio-init'];
    const script = [init?.command ?? []].flat().join('\n');
    for (const prefix of ['inputs/', 'outputs/', 'tasks/', 'batches/', 'active/']) {
      expect(script).toContain(`{"Prefix": "${prefix}"}, "Expiration": {"Days": $RETENTION_DAYS}`);
    }
    // ceil(24 h / 24) + 1: see infra/src/settings.ts lifecycleDays.
    expect(init?.environment?.RETENTION_DAYS).toBe('2');
  });

  it('runs MinIO, LocalStack, the API and GPU workers', () => {
    expect(Object.keys(model.services).sort()).toEqual(['api', 'gpu-worker', 'localstack', 'minio', 'minio-init']);
  });

  it('lets `--scale gpu-worker=N` start N workers: no fixed name, no published port', () => {
    const worker = service(model, 'gpu-worker');
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports.filter((p) => p.published !== null)).toEqual([]);
  });

  it('reserves an NVIDIA GPU for each worker and prefers the CUDA provider', () => {
    const worker = service(model, 'gpu-worker');
    const devices = worker.deploy?.resources?.reservations?.devices ?? [];
    expect(devices).toEqual([expect.objectContaining({ driver: 'nvidia', capabilities: ['gpu'], count: 1 })]);
    expect(worker.environment.EXECUTION_PROVIDERS).toBe('cuda,cpu');
  });

  it('keeps the prepared models in a named volume at the model directory', () => {
    const worker = service(model, 'gpu-worker');
    const modelDir = worker.environment.PHOTOENHANCE_MODEL_DIR;
    expect(modelDir).toBeTruthy();
    expect(worker.volumes).toContainEqual({ source: 'models', target: modelDir });
    expect(Object.keys(model.volumes ?? {})).toContain('models');
  });

  it('publishes the API on 8000 and presigns for the address browsers reach MinIO at', () => {
    const api = service(model, 'api');
    expect(api.ports).toContainEqual({ published: '8000', target: 8000, host_ip: '127.0.0.1' });
    expect(api.environment.S3_ENDPOINT).toBe('http://minio:9000');
    expect(api.environment.S3_PUBLIC_ENDPOINT).toBe('http://localhost:9000');
    expect(service(model, 'minio').ports).toContainEqual({ published: '9000', target: 9000, host_ip: '127.0.0.1' });
  });

  it('starts the services only once the bucket and queues exist', () => {
    for (const name of ['api', 'gpu-worker']) {
      expect(service(model, name).depends_on).toMatchObject({
        localstack: { condition: 'service_healthy' },
        'minio-init': { condition: 'service_completed_successfully' },
      });
    }
    expect(service(model, 'minio-init').depends_on).toMatchObject({ minio: { condition: 'service_healthy' } });
    for (const name of ['minio', 'localstack', 'api', 'gpu-worker']) {
      expect(service(model, name).healthcheck, name).toBeDefined();
    }
  });

  it('mounts the LocalStack init scripts where LocalStack runs them, with the same queue names as the services', () => {
    const localstack = service(model, 'localstack');
    const mount = localstack.volumes.find((v) => v.target === '/etc/localstack/init/ready.d');
    expect(mount).toBeDefined();
    const hostDir = join(REPO_ROOT, 'localstack/init/ready.d');
    expect([hostDir, './localstack/init/ready.d']).toContain(mount?.source);
    const script = join(hostDir, '10-photoenhance.sh');
    // LocalStack only runs executable files.
    expect(statSync(script).mode & 0o111).not.toBe(0);
    const worker = service(model, 'gpu-worker');
    for (const name of ['SQS_QUEUE_NAME', 'SQS_DLQ_NAME', 'MAX_RECEIVE_COUNT', 'VISIBILITY_TIMEOUT', 'S3_BUCKET']) {
      expect(localstack.environment[name], name).toBe(worker.environment[name]);
    }
    expect(localstack.environment.MAX_RECEIVE_COUNT).toBe('3');
  });

  it('builds each service from a container file that exists', () => {
    for (const name of ['api', 'gpu-worker']) {
      const build = service(model, name).build;
      expect(build, name).toBeDefined();
      expect(existsSync(join(REPO_ROOT, build?.dockerfile ?? '')) || existsSync(build?.dockerfile ?? ''), name).toBe(
        true,
      );
    }
  });

  it('gives the API and the workers an environment their own config schemas accept', () => {
    const api = loadApiConfig(service(model, 'api').environment);
    expect(api.S3_ENDPOINT).toBe('http://minio:9000');
    expect(api.SQS_ENDPOINT).toBe('http://localstack:4566');
    expect(api.BOOTSTRAP_RESOURCES).toBe(false);
    const worker = loadWorkerConfig(service(model, 'gpu-worker').environment);
    expect(worker.EXECUTION_PROVIDERS).toEqual(['cuda', 'cpu']);
    expect(worker.WORKER_SHUTDOWN_GRACE_MS).toBeGreaterThan(0);
  });

  it('lets workers outlive their shutdown grace before Docker kills them', () => {
    const worker = service(model, 'gpu-worker');
    const graceMs = Number(worker.environment.WORKER_SHUTDOWN_GRACE_MS);
    const stopSeconds = Number(/^(\d+)s$/.exec(worker.stop_grace_period ?? '')?.[1]);
    expect(stopSeconds * 1000).toBeGreaterThan(graceMs);
  });
});

describe('docker-compose.yml is secure by default (issue 17)', () => {
  it('publishes ports on loopback only', () => {
    const published = Object.entries(model.services).flatMap(([name, svc]) =>
      svc.ports.filter((p) => p.published !== null).map((p) => ({ name, ...p })),
    );
    expect(published.length).toBeGreaterThan(0);
    for (const port of published) expect(port.host_ip, `${port.name}:${port.published}`).toBe('127.0.0.1');
  });

  it('has no default MinIO password, API keys or callback secret: it will not resolve without them', () => {
    for (const missing of Object.keys(OPERATOR_ENV)) {
      const env = { ...OPERATOR_ENV };
      delete env[missing];
      expect(() => loadComposeModel(['docker-compose.yml'], env), missing).toThrow(new RegExp(missing));
    }
    const text = JSON.stringify(model);
    expect(text).not.toContain('photoenhance-secret');
    expect(service(model, 'minio').environment.MINIO_ROOT_PASSWORD).toBe(OPERATOR_ENV.MINIO_ROOT_PASSWORD);
  });

  it('gives the production images what they require: keys, a callback secret, CORS never *', () => {
    const production = { NODE_ENV: 'production' };
    const api = loadApiConfig({ ...service(model, 'api').environment, ...production, HOST: '0.0.0.0' });
    expect(api.API_KEYS).toEqual([OPERATOR_ENV.API_KEYS]);
    expect(api.CORS_ORIGINS).not.toContain('*');
    const worker = loadWorkerConfig({ ...service(model, 'gpu-worker').environment, ...production });
    expect(worker.CALLBACK_SECRET).toBe(OPERATOR_ENV.CALLBACK_SECRET);
    for (const name of ['minio', 'localstack']) {
      expect(JSON.stringify(service(model, name).environment), name).not.toMatch(/"\*"/);
    }
  });
});

describe('infra/docker/compose.cpu.yml (hosts without an NVIDIA GPU)', () => {
  it('drops the GPU reservation and runs workers on the CPU', () => {
    if (loaded.via === 'docker compose config') {
      const merged = loadComposeModel(['docker-compose.yml', 'infra/docker/compose.cpu.yml']).model;
      const worker = service(merged, 'gpu-worker');
      expect(worker.deploy?.resources?.reservations?.devices ?? []).toEqual([]);
      expect(worker.environment.EXECUTION_PROVIDERS).toBe('cpu');
      // Everything else is inherited.
      expect(worker.environment.S3_ENDPOINT).toBe('http://minio:9000');
    } else {
      const override = parseComposeYaml('infra/docker/compose.cpu.yml') as {
        services: {
          'gpu-worker': {
            environment: Record<string, string>;
            deploy: { resources: { reservations: { devices: unknown[] } } };
          };
        };
      };
      const worker = override.services['gpu-worker'];
      expect(worker.environment.EXECUTION_PROVIDERS).toBe('cpu');
      expect(worker.deploy.resources.reservations.devices).toEqual([]);
    }
  });
});
