import { modelStatus } from '@photoenhance/models';
import { describe, expect, it } from 'vitest';
import { modelCatalog } from '../../src/pipeline/model-catalog.ts';

describe('worker model catalogue (reported at registration)', () => {
  it('lists every known model with its task and install state, as the models package sees them', async () => {
    const catalog = await modelCatalog('cpu');
    const status = await modelStatus();
    expect(catalog.map((m) => [m.id, m.task, m.ready])).toEqual(status.map((s) => [s.id, s.task, s.ready]));
  });

  it('gives each face restorer the face size its manifest entry records, and no other model one', async () => {
    const catalog = await modelCatalog('cpu');
    const size = (id: string) => catalog.find((m) => m.id === id)?.face_size;
    expect([256, 512, 1024, 2048].map((s) => size(`gpen-bfr-${s}`))).toEqual([256, 512, 1024, 2048]);
    expect([size('gfpgan-1.4'), size('gfpgan-standin-256'), size('gfpgan-standin-1024')]).toEqual([512, 256, 1024]);
    expect(catalog.filter((m) => m.task !== 'face-restore').every((m) => m.face_size === undefined)).toBe(true);
    expect(catalog.filter((m) => m.task === 'face-restore').every((m) => m.face_size !== undefined)).toBe(true);
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
