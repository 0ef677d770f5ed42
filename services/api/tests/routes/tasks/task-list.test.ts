import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegFixture, readJson, startTestApi, type TestApi, uploadForm } from '../../harness.ts';

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-0123456789abcdef';
let keyed: TestApi;
let open: TestApi;
let jpeg: Buffer;
beforeAll(async () => {
  [keyed, open, jpeg] = await Promise.all([
    startTestApi({ API_KEYS: `${KEY_A},${KEY_B}` }),
    startTestApi(),
    jpegFixture(),
  ]);
});
afterAll(async () => {
  await Promise.all([keyed?.dispose(), open?.dispose()]);
});

const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

async function enhanceAs(key: string, name: string): Promise<string> {
  const res = await keyed.app.request('/api/v1/enhance', {
    method: 'POST',
    body: uploadForm(jpeg, name),
    headers: auth(key),
  });
  expect(res.status).toBe(200);
  return (await readJson(res)).task_id;
}

describe('GET /api/v1/tasks', () => {
  it("lists only the caller's own tasks, newest first, in PhotoEnhanceAI's shape", async () => {
    const a1 = await enhanceAs(KEY_A, 'a1.jpg');
    const b1 = await enhanceAs(KEY_B, 'b1.jpg');
    const a2 = await enhanceAs(KEY_A, 'a2.jpg');

    const listA = await keyed.app.request('/api/v1/tasks', { headers: auth(KEY_A) });
    expect(listA.status).toBe(200);
    const bodyA = await readJson(listA);
    expect(bodyA.total_tasks).toBe(2);
    expect(bodyA.tasks.map((t: { task_id: string }) => t.task_id).sort()).toEqual([a1, a2].sort());
    expect(bodyA.tasks[0]).toMatchObject({ status: 'queued', filename: expect.stringMatching(/^a[12]\.jpg$/) });
    expect(typeof bodyA.tasks[0].created_at).toBe('number');
    expect(typeof bodyA.tasks[0].updated_at).toBe('number');
    expect(bodyA.tasks[0].created_at).toBeGreaterThanOrEqual(bodyA.tasks[1].created_at);

    const bodyB = await readJson(await keyed.app.request('/api/v1/tasks', { headers: auth(KEY_B) }));
    expect(bodyB.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([b1]);

    // A queued task's first DELETE cancels it (listed as cancelled); the second removes it from the list too.
    const del = () => keyed.app.request(`/api/v1/tasks/${a1}`, { method: 'DELETE', headers: auth(KEY_A) });
    expect((await del()).status).toBe(200);
    const list = async () => (await readJson(await keyed.app.request('/api/v1/tasks', { headers: auth(KEY_A) }))).tasks;
    expect((await list()).find((t: { task_id: string }) => t.task_id === a1)?.status).toBe('cancelled');
    expect((await del()).status).toBe(200);
    expect((await list()).map((t: { task_id: string }) => t.task_id)).toEqual([a2]);
    // No index entry is left behind; the key itself is never stored.
    const { keys } = await keyed.snapshot();
    expect(keys.filter((k) => k.startsWith('owners/')).length).toBe(2);
    expect(keys.some((k) => k.includes(KEY_A) || k.includes(KEY_B))).toBe(false);
  });

  it('needs a key, and is refused (403 with detail) on a service without keys, where no caller owns anything', async () => {
    expect((await keyed.app.request('/api/v1/tasks')).status).toBe(401);
    const res = await open.app.request('/api/v1/tasks');
    expect(res.status).toBe(403);
    const body = await readJson(res);
    expect(body.error.code).toBe('FORBIDDEN');
    expect(body.detail).toMatch(/API keys/);
  });
});
