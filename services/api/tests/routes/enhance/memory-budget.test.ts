import { estimateJobMemory } from '@photoenhance/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegFixture, readJson, startTestApi, type TestApi, uploadForm } from '../../harness.ts';

// A fleet budget between a 320×240 photo at ×1 and the same photo at ×4 (x4fast, JPEG out).
const job = (scale: number) =>
  estimateJobMemory({ width: 320, height: 240, scale, upscaleModel: 'realesrgan-x4fast', faces: 0 }).bytes;
const BUDGET_MB = Math.round((job(1) + job(4)) / 2 / 1024 / 1024);

let api: TestApi;
let photo: Buffer;
beforeAll(async () => {
  [api, photo] = await Promise.all([
    startTestApi({ WORKER_MEMORY_BUDGET_MB: String(BUDGET_MB) }),
    jpegFixture(320, 240),
  ]);
});
afterAll(async () => {
  await api?.dispose();
});

const post = (form: FormData) => api.app.request('/api/v1/enhance', { method: 'POST', body: form });

describe('submission against WORKER_MEMORY_BUDGET_MB', () => {
  it('refuses a photo no worker could hold with 422, the numbers in the message, and stores nothing', async () => {
    const before = await api.snapshot();
    const res = await post(uploadForm(photo, 'big.jpg', { scale: '4', quality_level: 'fast' }));
    expect(res.status).toBe(422);
    const { error } = await readJson(res);
    expect(error.code).toBe('MEMORY_BUDGET_EXCEEDED');
    expect(error.message).toMatch(new RegExp(`320×240 photo at ×4 needs about \\d+ MB; .* has ${BUDGET_MB} MB`));
    expect(error.details).toMatchObject({ width: 320, height: 240, scale: 4, budgetMb: BUDGET_MB });
    expect(error.details.neededMb).toBeGreaterThan(BUDGET_MB);
    expect(await api.snapshot()).toEqual(before);
  });

  it('accepts what fits', async () => {
    const res = await post(uploadForm(photo, 'ok.jpg', { scale: '1', quality_level: 'fast' }));
    expect(res.status).toBe(200);
  });
});
