import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, connectBackend } from '../../src/backend/connect.ts';
import { CommonEnvSchema } from '../../src/config/common.ts';
import { loadConfig } from '../../src/config/env.ts';
import { type EmbeddedBackend, embeddedEnv, startEmbeddedBackend } from '../../src/embedded/embedded.ts';

export interface TestBackend extends Backend {
  embedded: EmbeddedBackend;
  dataDir: string;
  /** Stops fauxqs and removes the temp dir. */
  dispose(): Promise<void>;
}

/** A real fauxqs on a free port in a temp dir, bootstrapped exactly as the services do it. */
export async function startTestBackend(env: Record<string, string> = {}): Promise<TestBackend> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pe-core-'));
  const embedded = await startEmbeddedBackend({ dataDir, port: 0 });
  const config = loadConfig(CommonEnvSchema, {
    ...embeddedEnv(embedded),
    VISIBILITY_TIMEOUT: '30',
    ...env,
  });
  const backend = await connectBackend(config);
  return {
    ...backend,
    embedded,
    dataDir,
    async dispose() {
      backend.close();
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The value, or a test failure saying what was missing (instead of a non-null assertion). */
export function must<T>(value: T | null | undefined, what = 'value'): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}`);
  return value;
}
