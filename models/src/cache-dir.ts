import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where prepared models live: $PHOTOENHANCE_MODEL_DIR, else models/.cache (git-ignored). */
export function modelDir(): string {
  const fromEnv = process.env.PHOTOENHANCE_MODEL_DIR;
  return fromEnv ? resolve(fromEnv) : fileURLToPath(new URL('../.cache/', import.meta.url)).replace(/\/$/, '');
}
