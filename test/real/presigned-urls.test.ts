/**
 * Presigned URLs against MinIO, which (unlike the embedded emulator) checks signatures, expiry and the signed
 * headers. The uploader is plain fetch: what a browser or curl would send with the URL and headers we hand out.
 */
import { randomBytes } from 'node:crypto';
import { newId } from '@photoenhance/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../harness/stack.ts';
import { s3ErrorCode, sleep, startRealStack } from './servers.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startRealStack({ api: false });
});
afterAll(async () => {
  await stack?.stop();
});

const inputKey = () => `inputs/${newId()}/upload.png`;

async function put(url: string, body: Uint8Array, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'PUT', body, headers });
  const text = await res.text();
  return { status: res.status, code: s3ErrorCode(text), text };
}

describe('presigned PUT (MinIO)', () => {
  it('works from plain fetch with the returned headers, and the URL carries no checksum parameters', async () => {
    const key = inputKey();
    const body = randomBytes(4096);
    const presigned = await stack.backend.storage.presignPut(key, {
      contentType: 'image/png',
      contentLength: body.length,
      expiresIn: 60,
    });
    const params = [...new URL(presigned.url).searchParams.keys()].map((k) => k.toLowerCase());
    // An SDK default checksum would sign the CRC of an empty body, and MinIO would refuse the real one.
    expect(params.filter((k) => k.includes('checksum'))).toEqual([]);
    expect(new URL(presigned.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');

    const res = await put(presigned.url, body, presigned.headers);
    expect(res).toMatchObject({ status: 200, code: '' });
    const info = await stack.backend.storage.head(key);
    expect(info).toMatchObject({ bytes: body.length, contentType: 'image/png' });
    expect((await stack.backend.storage.getBuffer(key)).equals(body)).toBe(true);
  });

  it('refuses a content type other than the signed one, and writes nothing', async () => {
    const key = inputKey();
    const body = randomBytes(1024);
    const presigned = await stack.backend.storage.presignPut(key, {
      contentType: 'image/png',
      contentLength: body.length,
    });
    const res = await put(presigned.url, body, { ...presigned.headers, 'content-type': 'text/html' });
    expect(res).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(await stack.backend.storage.head(key)).toBeNull();
  });

  it('refuses a body of another size than the signed length', async () => {
    const key = inputKey();
    const presigned = await stack.backend.storage.presignPut(key, { contentType: 'image/png', contentLength: 1024 });
    // fetch derives Content-Length from the body; only the type is passed on.
    const res = await put(presigned.url, randomBytes(2048), { 'content-type': 'image/png' });
    expect(res).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(await stack.backend.storage.head(key)).toBeNull();
  });

  it('refuses tampered URLs: another signature, another key, a longer expiry', async () => {
    const key = inputKey();
    const body = randomBytes(512);
    const presigned = await stack.backend.storage.presignPut(key, {
      contentType: 'image/png',
      contentLength: body.length,
      expiresIn: 60,
    });
    const original = new URL(presigned.url);

    const signature = new URL(original);
    const sig = signature.searchParams.get('X-Amz-Signature') ?? '';
    signature.searchParams.set('X-Amz-Signature', `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`);

    const otherKey = new URL(original);
    const stolenKey = inputKey();
    otherKey.pathname = original.pathname.replace(key, stolenKey);
    expect(otherKey.pathname).toContain(stolenKey);

    const longer = new URL(original);
    longer.searchParams.set('X-Amz-Expires', '604800');

    for (const url of [signature, otherKey, longer]) {
      const res = await put(url.toString(), body, presigned.headers);
      expect(res, url.toString()).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    }
    expect(await stack.backend.storage.head(key)).toBeNull();
    expect(await stack.backend.storage.head(stolenKey)).toBeNull();
    // The untouched URL still works: the refusals were about the changes, not the URL.
    expect((await put(presigned.url, body, presigned.headers)).status).toBe(200);
  });

  it('refuses an expired URL', async () => {
    const key = inputKey();
    const body = randomBytes(256);
    const presigned = await stack.backend.storage.presignPut(key, {
      contentType: 'image/png',
      contentLength: body.length,
      expiresIn: 1,
    });
    // X-Amz-Date has whole seconds: two more make sure the one-second window is over.
    await sleep(Math.max(0, presigned.expiresAt.getTime() - Date.now()) + 2000);
    const res = await put(presigned.url, body, presigned.headers);
    expect(res.status).toBe(403);
    expect(res.code).toBe('AccessDenied');
    expect(res.text).toMatch(/expired/i);
    expect(await stack.backend.storage.head(key)).toBeNull();
  });
});

describe('presigned GET (MinIO)', () => {
  it('serves the object as an attachment with the signed name; a changed name or an expired URL is refused', async () => {
    const key = `outputs/${newId()}/portrait_enhanced.png`;
    const body = randomBytes(2048);
    await stack.backend.storage.put(key, body, { contentType: 'image/png' });

    const presigned = await stack.backend.storage.presignGet(key, { filename: 'holiday photo (1).png', expiresIn: 60 });
    const ok = await fetch(presigned.url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toBe(
      `attachment; filename="holiday photo (1).png"; filename*=UTF-8''${encodeURIComponent('holiday photo (1).png')}`,
    );
    expect(Buffer.from(await ok.arrayBuffer()).equals(body)).toBe(true);

    const renamed = new URL(presigned.url);
    renamed.searchParams.set('response-content-disposition', 'attachment; filename="other.exe"');
    const refused = await fetch(renamed);
    expect([refused.status, s3ErrorCode(await refused.text())]).toEqual([403, 'SignatureDoesNotMatch']);

    const short = await stack.backend.storage.presignGet(key, { expiresIn: 1 });
    await sleep(Math.max(0, short.expiresAt.getTime() - Date.now()) + 2000);
    const expired = await fetch(short.url);
    expect([expired.status, s3ErrorCode(await expired.text())]).toEqual([403, 'AccessDenied']);
  });
});
