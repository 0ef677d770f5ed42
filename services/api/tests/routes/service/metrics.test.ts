import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegFixture, startTestApi, type TestApi, uploadForm } from '../../harness.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.dispose();
});

/** Value of one sample in Prometheus text format (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const match = /^([a-z_:]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[3] ?? '').split(',');
    if (wanted.every((w) => have.includes(w))) return Number(match[4]);
  }
  return 0;
}

const scrape = async () => (await api.app.request('/metrics')).text();

describe('API /metrics', () => {
  it('moves after a job is submitted: requests by route/status, tasks, queue depth', async () => {
    const before = await scrape();
    const res = await api.app.request('/api/v1/enhance', {
      method: 'POST',
      body: uploadForm(await jpegFixture(32, 24), 'p.jpg'),
    });
    expect(res.status).toBe(200);
    await api.app.request('/api/v1/status/not-an-id');
    const after = await scrape();

    const route = { method: 'POST', route: '/api/v1/enhance', status: '200' };
    expect(sample(after, 'photoenhance_api_http_requests_total', route)).toBe(
      sample(before, 'photoenhance_api_http_requests_total', route) + 1,
    );
    const bad = { route: '/api/v1/status/:task_id', status: '400' };
    expect(sample(after, 'photoenhance_api_http_requests_total', bad)).toBe(1);
    expect(sample(after, 'photoenhance_api_tasks_created_total')).toBe(
      sample(before, 'photoenhance_api_tasks_created_total') + 1,
    );
    expect(sample(after, 'photoenhance_api_queue_messages', { queue: 'jobs', state: 'visible' })).toBe(
      sample(before, 'photoenhance_api_queue_messages', { queue: 'jobs', state: 'visible' }) + 1,
    );
    expect(after).toContain('photoenhance_api_queue_messages{queue="dlq",state="visible"} 0');
    expect(after).toContain('photoenhance_api_http_request_duration_seconds_bucket');
    expect(after).toContain('photoenhance_api_workers{status="alive"} 0');
  });

  it('counts refused uploads by error code', async () => {
    await api.app.request('/api/v1/enhance', {
      method: 'POST',
      body: uploadForm(Buffer.from('not an image at all'), 'x.jpg'),
    });
    const text = await scrape();
    expect(sample(text, 'photoenhance_api_uploads_rejected_total', { code: 'UNSUPPORTED_FORMAT' })).toBe(1);
  });
});
