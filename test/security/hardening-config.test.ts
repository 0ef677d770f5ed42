/**
 * Issue 17 §4: secure by default. Loopback unless HOST says otherwise, a network listener without API_KEYS
 * refused (naming API_KEYS) unless ALLOW_ANONYMOUS=true, and what NODE_ENV=production refuses — checked on the
 * config loaders and on the real entry points as processes.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadApiConfig, pageOrigins, startApiServer } from '@photoenhance/api';
import { isLoopbackHost } from '@photoenhance/core';
import { loadWorkerConfig } from '@photoenhance/gpu-worker';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const KEY = 'k'.repeat(24);
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Runs an entry point with only the given variables (plus PATH/HOME); resolves with its exit code and output. */
function runEntry(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, script)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

describe('listening address', () => {
  it('defaults to loopback for the API and the worker health port', () => {
    expect(loadApiConfig({}).HOST).toBe('127.0.0.1');
    expect(loadWorkerConfig({}).WORKER_HOST).toBe('127.0.0.1');
  });

  it('knows loopback addresses from network ones', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'example.com', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('refuses a network address without API_KEYS, naming API_KEYS, unless keys or ALLOW_ANONYMOUS=true', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3']) {
      expect(() => loadApiConfig({ HOST: host })).toThrow(/API_KEYS: is required when HOST=/);
    }
    expect(loadApiConfig({ HOST: '0.0.0.0', API_KEYS: KEY }).HOST).toBe('0.0.0.0');
    expect(loadApiConfig({ HOST: '0.0.0.0', ALLOW_ANONYMOUS: 'true' }).ALLOW_ANONYMOUS).toBe(true);
  });

  it('the real API server listens on 127.0.0.1 by default, with its embedded backend on loopback', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pe-hardening-api-'));
    dirs.push(dataDir);
    const config = loadApiConfig({ PORT: '0', DATA_DIR: dataDir, EMBEDDED_BACKEND: 'true', LOG_LEVEL: 'silent' });
    const api = await startApiServer(config, pino({ level: 'silent' }));
    try {
      expect(new URL(api.url).hostname).toBe('127.0.0.1');
      expect((await fetch(`${api.url}/health`)).status).toBe(200);
      // The backend's credentials live beside its data, readable by this user only.
      const file = join(dataDir, 'embedded', 'credentials.json');
      expect((await stat(file)).mode & 0o077).toBe(0);
      expect(JSON.parse(await readFile(file, 'utf8')).secretAccessKey.length).toBeGreaterThanOrEqual(32);
    } finally {
      await api.stop();
    }
  });

  it('npm start (scripts/start.ts) refuses HOST=0.0.0.0 without API_KEYS before starting anything', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pe-hardening-start-'));
    dirs.push(dataDir);
    const run = await runEntry('scripts/start.ts', { HOST: '0.0.0.0', DATA_DIR: dataDir, PORT: '0' });
    expect(run.code).toBe(2);
    expect(run.output).toContain('PhotoEnhance refused to start');
    expect(run.output).toContain('API_KEYS');
  });

  it('the API alone (npm run start:api) refuses the same, exit code 2', async () => {
    const run = await runEntry('services/api/src/server.ts', { HOST: '0.0.0.0', PORT: '0' });
    expect(run.code).toBe(2);
    expect(run.output).toMatch(/API_KEYS: is required when HOST=0\.0\.0\.0/);
  });
});

describe('NODE_ENV=production (the container images)', () => {
  const production = { NODE_ENV: 'production', HOST: '0.0.0.0' };

  it('refuses no API_KEYS (even on loopback) unless ALLOW_ANONYMOUS=true', () => {
    expect(() => loadApiConfig({ NODE_ENV: 'production' })).toThrow(/API_KEYS: is required in production/);
    expect(
      loadApiConfig({ NODE_ENV: 'production', ALLOW_ANONYMOUS: 'true', CORS_ORIGINS: 'https://app.example' })
        .ALLOW_ANONYMOUS,
    ).toBe(true);
  });

  it('refuses CORS_ORIGINS=* (the default) and takes a list', () => {
    expect(() => loadApiConfig({ ...production, API_KEYS: KEY })).toThrow(
      /CORS_ORIGINS: must list the allowed origins/,
    );
    expect(() => loadApiConfig({ ...production, API_KEYS: KEY, CORS_ORIGINS: 'https://a.example,*' })).toThrow(
      /CORS_ORIGINS/,
    );
    const ok = loadApiConfig({ ...production, API_KEYS: KEY, CORS_ORIGINS: 'https://app.example' });
    expect(ok.CORS_ORIGINS).toBe('https://app.example');
  });

  it('names every problem at once and never echoes a key', () => {
    let message = '';
    try {
      loadApiConfig({ ...production, ADMIN_API_KEY: 'short-secret' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('API_KEYS');
    expect(message).toContain('CORS_ORIGINS');
    expect(message).not.toContain('short-secret');
  });

  it('refuses a worker without CALLBACK_SECRET: webhooks are always signed', () => {
    expect(() => loadWorkerConfig({ NODE_ENV: 'production' })).toThrow(/CALLBACK_SECRET: is required in production/);
    expect(loadWorkerConfig({ NODE_ENV: 'production', CALLBACK_SECRET: 's'.repeat(20) }).CALLBACK_SECRET).toHaveLength(
      20,
    );
    // Outside production the worker still starts (npm start makes a secret itself).
    expect(loadWorkerConfig({}).CALLBACK_SECRET).toBeUndefined();
  });

  it('the worker entry refuses it as a process too', async () => {
    const run = await runEntry('services/gpu-worker/src/main.ts', { NODE_ENV: 'production' });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('CALLBACK_SECRET');
  });
});

describe("the embedded backend's CORS list", () => {
  it("is the API's own origins plus PUBLIC_BASE_URL and listed CORS origins, never *", () => {
    const origins = pageOrigins(
      { HOST: '127.0.0.1', PUBLIC_BASE_URL: 'https://photos.example/base', CORS_ORIGINS: '*' },
      8123,
    );
    expect(origins).toEqual(
      expect.arrayContaining(['http://127.0.0.1:8123', 'http://localhost:8123', 'https://photos.example']),
    );
    expect(origins).not.toContain('*');
    expect(pageOrigins({ HOST: '127.0.0.1', CORS_ORIGINS: 'https://a.example, https://b.example' }, 1)).toEqual(
      expect.arrayContaining(['https://a.example', 'https://b.example']),
    );
  });
});
