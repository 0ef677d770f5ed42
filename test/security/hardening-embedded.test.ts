/**
 * Issue 17 §4/§5: the embedded S3 + SQS backend (the `npm start` default) is loopback only, refuses unsigned,
 * tampered, foreign-key and expired requests, answers CORS only for the API's page, refuses path tricks in
 * keys — and still takes the page's presigned PUTs, of every size up to DIRECT_UPLOAD_MAX_BYTES (issue 21).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { newId } from '@photoenhance/contracts';
import {
  type Backend,
  CommonEnvSchema,
  connectBackend,
  createS3Client,
  type EmbeddedBackend,
  embeddedEnv,
  loadConfig,
  startEmbeddedBackend,
} from '@photoenhance/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PAGE_ORIGIN = 'http://127.0.0.1:8000';
let dataDir: string;
let embedded: EmbeddedBackend;
let backend: Backend;
/** A raw client signed with the backend's credentials: the backend itself hands out storage only. */
let s3: ReturnType<typeof createS3Client>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pe-hardening-'));
  embedded = await startEmbeddedBackend({ dataDir, port: 0, corsOrigins: [PAGE_ORIGIN] });
  backend = await connectBackend(loadConfig(CommonEnvSchema, { ...embeddedEnv(embedded), LOG_LEVEL: 'silent' }));
  s3 = createS3Client({ endpoint: embedded.s3Endpoint, region: 'us-east-1', credentials: embedded.credentials });
});
afterAll(async () => {
  backend?.close();
  s3?.destroy();
  await embedded?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const bucketUrl = () => `${embedded.s3Endpoint}/photoenhance`;
async function errorCode(res: Response): Promise<string | undefined> {
  return /<Code>([^<]+)<\/Code>/.exec(await res.text())?.[1];
}

describe('embedded backend: who may talk to it', () => {
  it('listens on loopback only, and refuses to be started on another address', async () => {
    expect(new URL(embedded.s3Endpoint).hostname).toBe('127.0.0.1');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && !i.internal && i.family === 'IPv4');
    if (external) {
      // The same port on this machine's network address: nothing listens there.
      await expect(fetch(`http://${external.address}:${embedded.port}/`)).rejects.toThrow();
    }
    await expect(startEmbeddedBackend({ dataDir: join(dataDir, 'other'), port: 0, host: '0.0.0.0' })).rejects.toThrow(
      /loopback only/,
    );
  });

  it('refuses unsigned reads, lists, writes and queue calls', async () => {
    const key = `inputs/${newId()}/face.jpg`;
    await backend.storage.put(key, Buffer.from('a face'));
    const read = await fetch(`${bucketUrl()}/${key}`);
    expect(read.status).toBe(403);
    expect(await errorCode(read)).toBe('AccessDenied');
    expect((await fetch(`${bucketUrl()}?list-type=2`)).status).toBe(403);
    expect((await fetch(`${bucketUrl()}/${key}`, { method: 'PUT', body: 'replaced' })).status).toBe(403);
    expect((await fetch(`${bucketUrl()}/${key}`, { method: 'DELETE' })).status).toBe(403);
    const sqs = await fetch(`${embedded.sqsEndpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' },
      body: '{}',
    });
    expect(sqs.status).toBe(403);
    // Nothing changed: the signed client still reads the original bytes.
    expect((await backend.storage.getBuffer(key)).toString()).toBe('a face');
  });

  it('refuses requests signed with the wrong secret or an unknown access key (the old test/test included)', async () => {
    const key = `outputs/${newId()}/x.png`;
    await backend.storage.put(key, Buffer.from('result'));
    const region = embedded.region;
    const wrongSecret = createS3Client({
      endpoint: embedded.s3Endpoint,
      region,
      credentials: { accessKeyId: embedded.credentials.accessKeyId, secretAccessKey: 'not-the-secret-000000000000' },
      maxAttempts: 1,
    });
    const wellKnown = createS3Client({
      endpoint: embedded.s3Endpoint,
      region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    try {
      await expect(wrongSecret.send(new GetObjectCommand({ Bucket: 'photoenhance', Key: key }))).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
      });
      await expect(wellKnown.send(new ListObjectsV2Command({ Bucket: 'photoenhance' }))).rejects.toMatchObject({
        name: 'InvalidAccessKeyId',
      });
    } finally {
      wrongSecret.destroy();
      wellKnown.destroy();
    }
  });

  it('refuses tampered and expired presigned URLs, and takes the genuine one', async () => {
    const key = `inputs/${newId()}/photo.jpg`;
    const link = await backend.storage.presignPut(key, { contentType: 'image/jpeg', contentLength: 4, expiresIn: 60 });
    const put = (url: string, headers: Record<string, string> = link.headers, body = 'abcd') =>
      fetch(url, { method: 'PUT', headers, body });
    const url = new URL(link.url);
    const signature = url.searchParams.get('X-Amz-Signature') ?? '';
    const flipped = new URL(link.url);
    flipped.searchParams.set('X-Amz-Signature', `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`);
    const otherKey = new URL(link.url);
    otherKey.pathname = otherKey.pathname.replace('photo.jpg', 'other.jpg');
    const longer = new URL(link.url);
    longer.searchParams.set('X-Amz-Expires', '604800');

    expect((await put(flipped.href)).status).toBe(403);
    expect((await put(otherKey.href)).status).toBe(403);
    expect((await put(longer.href)).status).toBe(403);
    // Signed size and type are enforced: 5 bytes, or another type, on the same URL.
    expect((await put(link.url, { 'content-type': 'image/jpeg' }, 'abcde')).status).toBe(403);
    expect((await put(link.url, { ...link.headers, 'content-type': 'text/html' })).status).toBe(403);
    await expect(backend.storage.head(key)).resolves.toBeNull();

    // Signed two minutes ago for one minute: expired.
    const expired = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'photoenhance', Key: key }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 120_000),
    });
    const stale = await fetch(expired);
    expect(stale.status).toBe(403);
    expect(await errorCode(stale)).toBe('RequestExpired');

    expect((await put(link.url)).status).toBe(200);
    expect((await backend.storage.getBuffer(key)).toString()).toBe('abcd');
  });

  it("answers CORS for the API's page only", async () => {
    const key = `inputs/${newId()}/cors.jpg`;
    const link = await backend.storage.presignPut(key, { contentType: 'image/jpeg', contentLength: 4, expiresIn: 60 });
    const preflight = (origin: string) =>
      fetch(link.url, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'content-type',
        },
      });
    const own = await preflight(PAGE_ORIGIN);
    expect(own.status).toBe(204);
    expect(own.headers.get('access-control-allow-origin')).toBe(PAGE_ORIGIN);
    const foreign = await preflight('https://evil.example');
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    // A simple cross-origin request from another site gets no CORS header: its page cannot read the answer.
    const download = await backend.storage.presignGet(key);
    const read = await fetch(download.url, { headers: { Origin: 'https://evil.example' } });
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
    // Origins added once the API knows its port are honoured too.
    embedded.allowOrigins(['http://localhost:9999']);
    expect((await preflight('http://localhost:9999')).status).toBe(204);
  });
});

describe('embedded backend: path tricks in keys', () => {
  const tricks = [
    'inputs/../tasks/forged.json',
    'inputs/./x.jpg',
    'inputs//x.jpg',
    'inputs/a\\..\\..\\x.jpg',
    'inputs/a\u0000b.jpg',
    '../outside.json',
  ];
  for (const key of tricks) {
    it(`refuses the signed write of ${JSON.stringify(key)} and stores nothing`, async () => {
      await expect(
        s3.send(new PutObjectCommand({ Bucket: 'photoenhance', Key: key, Body: 'x' })),
      ).rejects.toMatchObject({ name: 'InvalidObjectName' });
      const all = await backend.storage.list('');
      expect(all.map((o) => o.key).filter((k) => k.includes('forged') || k.includes('outside'))).toEqual([]);
    });
  }

  it('refuses a listing prefix that climbs out', async () => {
    await expect(s3.send(new ListObjectsV2Command({ Bucket: 'photoenhance', Prefix: '../' }))).rejects.toMatchObject({
      name: 'InvalidObjectName',
    });
  });
});

describe('embedded backend: big photos arrive (issue 21)', () => {
  it('takes an 18 MB presigned PUT from a page whole (fauxqs alone answers 413 over 11 MiB)', async () => {
    const bytes = Buffer.alloc(18 * 1024 * 1024 + 12_345);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
    const key = `inputs/${newId()}/big.jpg`;
    const link = await backend.storage.presignPut(key, {
      contentType: 'image/jpeg',
      contentLength: bytes.length,
      expiresIn: 60,
    });
    const res = await fetch(link.url, {
      method: 'PUT',
      headers: { ...link.headers, Origin: PAGE_ORIGIN },
      body: new Uint8Array(bytes),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBeTruthy();
    expect(res.headers.get('access-control-allow-origin')).toBe(PAGE_ORIGIN);
    const head = await backend.storage.head(key);
    expect(head?.bytes).toBe(bytes.length);
    expect(head?.contentType).toBe('image/jpeg');
    const stored = await backend.storage.getBuffer(key);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});
