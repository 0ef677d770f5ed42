/**
 * Direct uploads end to end: the client PUTs to a presigned URL, starts the task, a real worker runs it.
 * What only a signature-checking store can refuse (wrong content type or size, expired URL) runs when the
 * harness runs a real object store (MinIO: CI's real-server job, or containers); on the embedded fauxqs, which does not check
 * signatures, those tests are reported as skipped with the reason.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadResult, pollStatus } from '../harness/client.ts';
import { createTestEngine } from '../harness/engine.ts';
import { testPhoto } from '../harness/images.ts';
import { type Stack, startStack } from '../harness/stack.ts';

const URL_EXPIRY_SECONDS = 2;

let stack: Stack;
const engine = createTestEngine();
beforeAll(async () => {
  stack = await startStack({ apiEnv: { UPLOAD_URL_EXPIRY_SECONDS: String(URL_EXPIRY_SECONDS) } });
});
afterAll(async () => {
  await stack?.stop();
  await engine.close();
});

interface Issued {
  task_id: string;
  upload: { url: string; method: 'PUT'; headers: Record<string, string>; expires_at: string };
  start_url: string;
}

async function issue(bytes: Buffer, contentType: string, filename: string): Promise<Issued> {
  const res = await fetch(`${stack.apiUrl}/api/v1/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ filename, content_type: contentType, size: bytes.length }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Issued;
}

/** What a browser does with the answer: PUT the bytes with the given headers (fetch sets Content-Length itself). */
async function put(
  issued: Issued,
  bytes: Buffer,
  override: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const { 'content-length': _length, ...headers } = issued.upload.headers;
  const res = await fetch(issued.upload.url, {
    method: 'PUT',
    body: new Uint8Array(bytes),
    headers: { ...headers, ...override },
  });
  return { status: res.status, text: await res.text() };
}

async function start(issued: Issued, options: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${stack.apiUrl}${issued.start_url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(options),
  });
}

describe('direct upload: presigned PUT → start → worker', () => {
  it('runs a directly uploaded image through a real worker', async () => {
    const photo = await testPhoto(40, 24);
    const issued = await issue(photo, 'image/png', 'straight to storage.png');
    expect(await put(issued, photo)).toMatchObject({ status: 200 });
    const started = await start(issued, { quality_level: 'low', face: false, scale: 2 });
    expect(started.status).toBe(202);

    const worker = await stack.startWorker({ engine });
    const { final } = await pollStatus(stack.apiUrl, issued.task_id, { until: ['completed', 'failed'] });
    await worker.stop();
    expect(final.status).toBe('completed');
    expect(final.result).toMatchObject({ filename: 'straight_to_storage_enhanced.png', width: 80, height: 48 });
    const { blob } = await downloadResult(stack.apiUrl, final.result?.download_url ?? '');
    const meta = await sharp(Buffer.from(await blob.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 80, 48]);
  });

  it('refuses to start a non-image (415) and leaves nothing behind', async () => {
    const text = Buffer.from('#!/bin/sh\necho definitely not a picture\n');
    const issued = await issue(text, 'image/jpeg', 'holiday.jpg');
    expect((await put(issued, text)).status).toBe(200);
    const res = await start(issued);
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_FORMAT');
    expect(await stack.backend.storage.list(`inputs/${issued.task_id}/`)).toEqual([]);
    expect((await fetch(`${stack.apiUrl}/api/v1/status/${issued.task_id}`)).status).toBe(404);
  });

  it('is refused by the store for a content type other than the signed one', async () => {
    const photo = await testPhoto(16, 16);
    const issued = await issue(photo, 'image/png', 'typed.png');
    const res = await put(issued, photo, { 'content-type': 'image/jpeg' });
    expect(res.status).toBe(403);
    expect(res.text).toContain('SignatureDoesNotMatch');
    expect(await stack.backend.storage.list(`inputs/${issued.task_id}/`)).toEqual([]);
    expect((await start(issued)).status).toBe(409); // nothing uploaded
  });

  it('is refused by the store for a body of another size than the signed one', async () => {
    const photo = await testPhoto(16, 16);
    const issued = await issue(Buffer.concat([photo, Buffer.alloc(64)]), 'image/png', 'sized.png');
    const res = await put(issued, photo);
    expect(res.status).toBe(403);
    expect(await stack.backend.storage.list(`inputs/${issued.task_id}/`)).toEqual([]);
  });

  it('is refused by the store once the URL has expired', async () => {
    const photo = await testPhoto(16, 16);
    const issued = await issue(photo, 'image/png', 'late.png');
    expect(Date.parse(issued.upload.expires_at) - Date.now()).toBeLessThanOrEqual(URL_EXPIRY_SECONDS * 1000);
    await new Promise((r) => setTimeout(r, (URL_EXPIRY_SECONDS + 1.5) * 1000));
    const res = await put(issued, photo);
    expect(res.status).toBe(403);
    expect(res.text).toMatch(/AccessDenied|expired/i);
    expect(await stack.backend.storage.list(`inputs/${issued.task_id}/`)).toEqual([]);
  });
});
