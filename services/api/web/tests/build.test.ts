import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OUTPUT_FORMATS, QUALITY_LEVELS } from '@photoenhance/contracts';
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

  it('generates the settings menus from the contracts: every quality level and output format, nothing else', async () => {
    const html = (await buildWeb())['index.html']!;
    const values = (name: string) => {
      const select = new RegExp(`<select name="${name}">(.*?)</select>`).exec(html)?.[1] ?? '';
      return [...select.matchAll(/<option value="([^"]*)">/g)].map((m) => m[1]);
    };
    expect(values('quality_level').sort()).toEqual([...QUALITY_LEVELS].sort());
    expect(values('output_format')).toEqual([...OUTPUT_FORMATS]);
    expect(html).not.toContain('__');
  });

  it('bundles no schema library: the page imports the contracts’ plain modules and types only', async () => {
    const js = (await buildWeb())['app.js']!;
    expect(js).not.toMatch(/ZodError|\$ZodType|zod/i);
    // …while the contract lists are really in it (the MIME types of the direct upload, the format names).
    expect(js).toContain('image/heic');
    expect(js).toContain('WebP');
  });
});
