import { modelStatus } from '@photoenhance/models';
import { describe, expect, it } from 'vitest';
import { modelCatalog } from '../../src/pipeline/model-catalog.ts';

describe('worker model catalogue (reported at registration)', () => {
  it('lists every known model with its task and install state, as the models package sees them', async () => {
    const catalog = await modelCatalog('cpu');
    const status = await modelStatus();
    expect(catalog.map((m) => [m.id, m.task, m.ready])).toEqual(status.map((s) => [s.id, s.task, s.ready]));
  });

  it('marks the defaults a plain request gets: x4fast on a CPU, x4plus on a GPU, gfpgan-1.4, blazeface-back', async () => {
    const defaults = (catalog: Awaited<ReturnType<typeof modelCatalog>>) =>
      catalog
        .filter((m) => m.default)
        .map((m) => m.id)
        .sort();
    expect(defaults(await modelCatalog('cpu'))).toEqual(['blazeface-back', 'gfpgan-1.4', 'realesrgan-x4fast']);
    expect(defaults(await modelCatalog('cuda'))).toEqual(['blazeface-back', 'gfpgan-1.4', 'realesrgan-x4plus']);
  });
});
