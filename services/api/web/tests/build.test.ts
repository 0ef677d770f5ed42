import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWeb, DIST } from '../build.ts';

describe('web app build', () => {
  it('the committed web/dist is what the sources build to (run `npm run build:web` after editing web/src)', async () => {
    const built = await buildWeb();
    for (const [name, text] of Object.entries(built)) {
      const committed = await readFile(join(DIST, name), 'utf8').catch(() => '(missing)');
      expect(committed === text, `web/dist/${name} is stale: run npm run build:web`).toBe(true);
    }
  });
});
