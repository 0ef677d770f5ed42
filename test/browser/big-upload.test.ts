/**
 * Issue 21, "Big photos must also arrive": a photo over 16 MB picked in the page goes the direct-upload way
 * (presigned PUT) to the embedded default backend — which alone (fauxqs) answered 413 FST_ERR_CTP_BODY_TOO_LARGE
 * over 11 MiB — and comes back as a result; a refusal from storage reaches the card in plain words, never as
 * the raw body. Screenshots at desktop and phone width go to SCREENSHOT_DIR.
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEngine } from '../harness/engine.ts';
import { type Stack, startStack } from '../harness/stack.ts';
import { launchBrowser, openApp } from './browser.ts';

const SHOTS = process.env.SCREENSHOT_DIR ?? join(tmpdir(), 'photoenhance-browser');
const FACES = join(import.meta.dirname, '..', '..', 'packages', 'engine', 'tests', 'fixtures', 'faces');
const MiB = 1024 * 1024;

let stack: Stack;
let launching: Promise<Browser>;
const engine = createTestEngine();

beforeAll(async () => {
  launching = launchBrowser();
  launching.catch(() => undefined);
  stack = await startStack();
  await mkdir(SHOTS, { recursive: true });
});
afterAll(async () => {
  await (await launching.catch(() => undefined))?.close();
  await stack?.stop();
  await engine.close();
});

/**
 * A real JPEG of `totalBytes`: a small photo (so the worker takes a second, not minutes) carrying comment
 * segments before its scan — the bytes a phone's 18 MB file has, without 50 MP of pixels to upscale in CI.
 */
async function paddedJpeg(totalBytes: number): Promise<Buffer> {
  const photo = await sharp(join(FACES, 'coffee.jpg')).resize({ width: 160 }).jpeg({ quality: 90 }).toBuffer();
  let sos = 2;
  while (sos < photo.length && !(photo[sos] === 0xff && photo[sos + 1] === 0xda)) {
    sos += 2 + photo.readUInt16BE(sos + 2);
  }
  const segments: Buffer[] = [];
  let room = totalBytes - photo.length;
  while (room > 4) {
    const body = Math.min(65_533, room - 4);
    const segment = Buffer.alloc(body + 4, 0x20);
    segment.writeUInt16BE(0xfffe, 0); // COM
    segment.writeUInt16BE(body + 2, 2);
    segments.push(segment);
    room -= body + 4;
  }
  return Buffer.concat([photo.subarray(0, sos), ...segments, photo.subarray(sos)]);
}

const card = (page: Page, name: string) => page.locator('.card', { has: page.locator('.name', { hasText: name }) });

describe('big photos arrive through the page (embedded default backend)', () => {
  it('sends an 18 MB JPEG by presigned PUT and shows its result', async () => {
    const big = await paddedJpeg(18 * MiB);
    expect(big.length).toBeGreaterThan(16 * MiB);
    const worker = await stack.startWorker({ engine });
    const browser = await launching;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const { page, problems } = await openApp(context, stack.apiUrl);
      const puts: { url: string; status: number }[] = [];
      page.on('response', (res) => {
        if (res.request().method() === 'PUT') puts.push({ url: res.url(), status: res.status() });
      });
      await page.getByLabel('Quality').selectOption('fast');
      await page.getByLabel('Scale').fill('2');
      await page.locator('#files').setInputFiles([{ name: 'phone-photo.jpg', mimeType: 'image/jpeg', buffer: big }]);
      const photo = card(page, 'phone-photo.jpg');
      await expect.poll(() => photo.getAttribute('data-phase'), { timeout: 120_000 }).toBe('completed');
      expect(puts).toHaveLength(1);
      expect(puts[0]?.url.startsWith(`${stack.config.S3_ENDPOINT}/`)).toBe(true);
      expect(puts[0]?.status).toBe(200);
      const taskId = (await photo.getAttribute('data-task-id')) as string;
      expect((await stack.backend.storage.head(`inputs/${taskId}/phone-photo.jpg`))?.bytes).toBe(big.length);
      const status = (await (await fetch(`${stack.apiUrl}/api/v1/status/${taskId}`)).json()) as {
        result: { width: number; height: number };
      };
      expect(status.result.width).toBe(320);
      await expect.poll(() => photo.locator('img').count()).toBeGreaterThan(0);

      await page.screenshot({ path: join(SHOTS, 'big-upload-desktop.png'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(SHOTS, 'big-upload-phone.png'), fullPage: true });
      expect(problems.errors).toEqual([]);
    } finally {
      await context.close();
      await worker.stop();
    }
  });

  it('shows a storage refusal of the upload in plain words, never the raw body', async () => {
    const browser = await launching;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const { page } = await openApp(context, stack.apiUrl);
      // What the emulator alone used to answer, and an S3 XML refusal: neither may reach the card as it came.
      const answers = [
        {
          status: 413,
          contentType: 'application/json',
          body: '{"statusCode":413,"code":"FST_ERR_CTP_BODY_TOO_LARGE","error":"Payload Too Large","message":"Request body is too large"}',
        },
        {
          status: 403,
          contentType: 'application/xml',
          body: '<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>nope</Message></Error>',
        },
      ];
      const expected = [/^Too large to upload\. The storage refused a file this large\.$/, /refused the upload link/];
      for (const [i, answer] of answers.entries()) {
        await page.route(`${stack.config.S3_ENDPOINT}/**`, (route) =>
          route.request().method() === 'PUT'
            ? route.fulfill({ ...answer, headers: { 'access-control-allow-origin': '*' } })
            : route.continue(),
        );
        const name = `refused-${i}.jpg`;
        await page
          .locator('#files')
          .setInputFiles([{ name, mimeType: 'image/jpeg', buffer: await paddedJpeg(5 * MiB) }]);
        const refused = card(page, name);
        await expect.poll(() => refused.getAttribute('data-phase'), { timeout: 30_000 }).toBe('failed');
        const text = (await refused.locator('.status').textContent()) ?? '';
        expect(text).toMatch(expected[i] as RegExp);
        expect(text).not.toMatch(/[{}<>]|FST_ERR|statusCode|SignatureDoesNotMatch/);
        await page.unroute(`${stack.config.S3_ENDPOINT}/**`);
      }
    } finally {
      await context.close();
    }
  });
});
