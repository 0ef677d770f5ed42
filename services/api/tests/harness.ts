import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Backend,
  connectBackend,
  type EmbeddedBackend,
  embeddedEnv,
  startEmbeddedBackend,
} from '@photoenhance/core';
import { pino } from 'pino';
import sharp from 'sharp';
import { createApp } from '../src/app.ts';
import { type ApiConfig, loadApiConfig } from '../src/config.ts';
import type { AppDeps } from '../src/http/env.ts';
import { createApiMetrics } from '../src/metrics.ts';

export interface TestApi {
  app: ReturnType<typeof createApp>;
  backend: Backend;
  config: ApiConfig;
  embedded: EmbeddedBackend;
  /** Every key in the bucket and the jobs queue depth: "nothing stored or enqueued" is checked against this. */
  snapshot(): Promise<{ keys: string[]; queued: number }>;
  dispose(): Promise<void>;
}

/** The real app on a real fauxqs (temp dir, free port); no mocks. */
export async function startTestApi(
  env: Record<string, string> = {},
  deps: Pick<AppDeps, 'streamTokens'> = {},
): Promise<TestApi> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pe-api-'));
  const embedded = await startEmbeddedBackend({ dataDir, port: 0 });
  const config = loadApiConfig({
    ...embeddedEnv(embedded),
    LOG_LEVEL: 'silent',
    DOWNLOAD_MODE: 'redirect',
    // app.request() has no socket, so every anonymous request would share one address's budget.
    RATE_LIMIT_PER_MINUTE: '0',
    ...env,
  });
  const backend = await connectBackend(config);
  const app = createApp({
    storage: backend.storage,
    queue: backend.queue,
    config,
    logger: pino({ level: 'silent' }),
    metrics: createApiMetrics({ defaultMetrics: false }),
    ...deps,
  });
  return {
    app,
    backend,
    config,
    embedded,
    async snapshot() {
      const keys = (await backend.storage.list('')).map((o) => o.key).sort();
      const depth = await backend.queue.depth();
      return { keys, queued: depth.visible + depth.inFlight };
    },
    async dispose() {
      backend.close();
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function jpegFixture(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 120, b: 80 } } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export async function pngFixture(width = 32, height = 32): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } })
    .png()
    .toBuffer();
}

/** multipart/form-data like the seed's browser example builds it. */
export function uploadForm(file: Buffer | null, filename: string, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  if (file) form.append('file', new File([new Uint8Array(file)], filename, { type: 'image/jpeg' }));
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return form;
}

export function must<T>(value: T | null | undefined, what = 'value'): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}`);
  return value;
}

/** Response JSON for assertions (the Node lib types it as unknown). */
// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary response JSON
export async function readJson(res: Response): Promise<any> {
  return res.json();
}
