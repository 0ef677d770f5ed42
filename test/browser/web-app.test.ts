import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerAnnouncementInput } from '@photoenhance/contracts';
import { signatureHeaders } from '@photoenhance/core';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestEngine } from '../harness/engine.ts';
import { type Stack, startStack } from '../harness/stack.ts';
import { readZip } from '../harness/zip.ts';
import { launchBrowser, openApp } from './browser.ts';

const SECRET = 'browser-test-registration-secret';
const FACES = join(import.meta.dirname, '..', '..', 'packages', 'engine', 'tests', 'fixtures', 'faces');
/** Screenshots go here; UPDATE_SCREENSHOTS=1 also refreshes the README's (docs/web-app.png). */
const SHOTS = process.env.SCREENSHOT_DIR ?? join(tmpdir(), 'photoenhance-browser');
const README_SHOT = join(import.meta.dirname, '..', '..', 'docs', 'web-app.png');

let stack: Stack;
let browser: Browser;
/** Launched once; a launch failure fails every test below by name (vitest would only skip them after a beforeAll error). */
let launching: Promise<Browser>;
const engine = createTestEngine();

beforeAll(async () => {
  launching = launchBrowser();
  launching.catch(() => undefined);
  stack = await startStack({ apiEnv: { WORKER_REGISTRATION_SECRET: SECRET } });
  await mkdir(SHOTS, { recursive: true });
});
beforeEach(async () => {
  browser = await launching;
});
afterAll(async () => {
  await (await launching.catch(() => undefined))?.close();
  await stack?.stop();
  await engine.close();
});

interface Payload {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

/** Real photos (public-domain fixtures), made small so x4fast takes well under a second each. */
async function photo(file: string, width: number, name = file): Promise<Payload> {
  const buffer = await sharp(join(FACES, file)).resize({ width }).jpeg({ quality: 90 }).toBuffer();
  return { name, mimeType: 'image/jpeg', buffer };
}

/** Records every status a card shows, as it happens, so a test can tell what was seen before the end. */
async function recordStatuses(page: Page): Promise<void> {
  await page.evaluate(() => {
    const log: string[] = [];
    (window as unknown as { statusLog: string[] }).statusLog = log;
    const list = document.querySelector('#photos') as HTMLElement;
    new MutationObserver(() => {
      for (const card of list.querySelectorAll<HTMLElement>('.card')) {
        const entry = `${card.querySelector('.name')?.textContent}|${card.dataset.phase}|${card.querySelector('.status')?.textContent}`;
        if (log.at(-1) !== entry && !log.includes(entry)) log.push(entry);
      }
    }).observe(list, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

const statusLog = (page: Page) => page.evaluate(() => (window as unknown as { statusLog: string[] }).statusLog);

const card = (page: Page, name: string) => page.locator('.card', { has: page.locator('.name', { hasText: name }) });

async function fastSettings(page: Page): Promise<void> {
  await page.getByLabel('Quality').selectOption('fast');
  await page.getByLabel('Scale').fill('2');
}

async function announceWorker(catalog: WorkerAnnouncementInput['worker']['catalog']): Promise<void> {
  const body = JSON.stringify({
    event: 'register',
    nonce: randomUUID(),
    sentAt: new Date().toISOString(),
    worker: {
      workerId: 'browser-test-gpu',
      version: '0.1.0',
      providers: ['cuda'],
      catalog,
      capacity: 1,
      state: 'idle',
      startedAt: new Date().toISOString(),
    },
  } satisfies WorkerAnnouncementInput);
  const res = await fetch(`${stack.apiUrl}/api/v1/workers/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signatureHeaders(SECRET, body) },
    body,
  });
  expect(res.status).toBe(200);
}

describe('web app in Chromium', () => {
  it('sends a big file by presigned PUT straight to storage, and cancels it from its card', async () => {
    // No worker runs yet: the task waits in the queue until it is cancelled.
    const context = await browser.newContext();
    const { page, problems } = await openApp(context, stack.apiUrl);
    const puts: string[] = [];
    page.on('request', (req) => {
      if (req.method() === 'PUT') puts.push(req.url());
    });
    // 1100² RGBA noise: about 4.8 MB as PNG, over the page's 4 MiB direct-upload threshold.
    const noise = await sharp(randomBytes(1100 * 1100 * 4), { raw: { width: 1100, height: 1100, channels: 4 } })
      .png({ compressionLevel: 1 })
      .toBuffer();
    expect(noise.length).toBeGreaterThan(4 * 1024 * 1024);
    await page.locator('#files').setInputFiles([{ name: 'big.png', mimeType: 'image/png', buffer: noise }]);
    const big = card(page, 'big.png');
    await expect.poll(() => big.locator('.status').textContent(), { timeout: 30_000 }).toMatch(/Waiting for a worker/);
    expect(puts).toHaveLength(1);
    expect(puts[0]?.startsWith(`${stack.config.S3_ENDPOINT}/`)).toBe(true);
    const taskId = (await big.getAttribute('data-task-id')) as string;
    const stored = await stack.backend.storage.head(`inputs/${taskId}/big.png`);
    expect(stored?.bytes).toBe(noise.length);

    await big.getByRole('button', { name: 'Cancel big.png' }).click();
    await expect.poll(() => big.locator('.status').textContent()).toBe('Cancelled');
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${stack.apiUrl}/api/v1/status/${taskId}`)).json()) as { status: string }).status,
      )
      .toBe('cancelled');
    await expect.poll(() => big.getByRole('button', { name: 'Retry big.png' }).count()).toBe(1);
    expect(problems.errors).toEqual([]);
    await context.close();
  });

  it('takes photos dropped on the drop zone and pasted anywhere on the page', async () => {
    const context = await browser.newContext();
    const { page, problems } = await openApp(context, stack.apiUrl);
    const [dropped, pasted] = [await photo('grass.jpg', 64), await photo('brick.jpg', 64)];
    const transfer = (file: Payload) =>
      page.evaluateHandle(
        ({ name, bytes }) => {
          const data = new DataTransfer();
          data.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/jpeg' }));
          return data;
        },
        { name: file.name, bytes: [...file.buffer] },
      );
    await page.locator('#drop').dispatchEvent('drop', { dataTransfer: await transfer(dropped) });
    const clipboard = await transfer(pasted);
    await page.evaluate((data) => {
      document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
    }, clipboard);
    for (const name of ['grass.jpg', 'brick.jpg']) {
      // Queued (no worker takes them here): the upload went through like a picked file's.
      await expect
        .poll(() => card(page, name).locator('.status').textContent(), { timeout: 30_000 })
        .toMatch(/Waiting for a worker/);
    }
    for (const name of ['grass.jpg', 'brick.jpg'])
      await card(page, name)
        .getByRole('button', { name: `Cancel ${name}` })
        .click();
    expect(problems.errors).toEqual([]);
    await context.close();
  });

  it('shows Swagger UI at /docs from the service itself, with "Try it out"', async () => {
    const context = await browser.newContext();
    const { page, problems } = await openApp(context, `${stack.apiUrl}/docs`);
    const external: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(stack.apiUrl) && !req.url().startsWith('data:')) external.push(req.url());
    });
    await page.locator('.opblock-summary', { hasText: '/api/v1/enhance' }).first().click();
    await expect
      .poll(() => page.getByRole('button', { name: 'Try it out' }).count(), { timeout: 30_000 })
      .toBeGreaterThan(0);
    expect(await page.locator('.opblock-summary-path', { hasText: '/api/v1/models' }).count()).toBe(1);
    expect(external).toEqual([]);
    expect(problems.errors).toEqual([]);
    await context.close();
  });

  it('asks for an API key on a 401, keeps it, sends it as a header, and opens the event stream with a stream token', async () => {
    const key = 'browser-test-client-key-0123456789';
    const keyed = await startStack({ apiEnv: { API_KEYS: key } });
    const context = await browser.newContext();
    try {
      const { page, problems } = await openApp(context, keyed.apiUrl);
      // Every URL the page asks for, and the answers of its event streams.
      const urls: string[] = [];
      const streams: { url: string; status: number }[] = [];
      page.on('request', (req) => urls.push(req.url()));
      page.on('response', (res) => {
        if (res.url().includes('/events')) streams.push({ url: res.url(), status: res.status() });
      });
      await fastSettings(page);
      await page.locator('#files').setInputFiles([await photo('coffee.jpg', 96)]);
      const dialog = page.getByRole('dialog', { name: 'API key' });
      await expect.poll(() => dialog.isVisible()).toBe(true);
      await expect.poll(() => card(page, 'coffee.jpg').locator('.status').textContent()).toMatch(/needs an API key/);
      await page.getByLabel('Key', { exact: true }).fill(key);
      await dialog.getByRole('button', { name: 'Save' }).click();
      const coffee = card(page, 'coffee.jpg');
      await expect
        .poll(() => coffee.locator('.status').textContent(), { timeout: 30_000 })
        .toMatch(/Waiting for a worker/);
      expect(await page.evaluate(() => localStorage.getItem('photoenhance.apiKey'))).toBe(key);
      // The task really exists behind the key, and the page's EventSource got in with a token for it alone.
      const taskId = (await coffee.getAttribute('data-task-id')) as string;
      const status = await fetch(`${keyed.apiUrl}/api/v1/status/${taskId}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(status.status).toBe(200);
      await expect
        .poll(() => streams.find((r) => r.url.includes(`/api/v1/tasks/${taskId}/events?token=`))?.status)
        .toBe(200);
      expect(urls.some((url) => url.endsWith(`/api/v1/tasks/${taskId}/stream-token`))).toBe(true);
      // No URL the page requested carries the key, in any form.
      expect(urls.filter((url) => url.includes('api_key') || url.includes(key))).toEqual([]);
      expect(problems.errors).toEqual([]);
      expect(problems.httpErrors.filter((line) => !line.includes('status of 401'))).toEqual([]);
    } finally {
      await context.close();
      await keyed.stop();
    }
  });

  it('works with keys and, once the service has deleted a finished photo (RETENTION_HOURS), says so in plain words', async () => {
    const key = 'browser-retention-key-0123456789';
    // 10.8 s: long enough to finish the photo and read "Kept until", short enough to watch it expire.
    const keyed = await startStack({ apiEnv: { API_KEYS: key, RETENTION_HOURS: '0.003' }, ownBucket: true });
    await keyed.startWorker({ engine });
    const context = await browser.newContext();
    try {
      const { page, problems } = await openApp(context, keyed.apiUrl);
      await fastSettings(page);
      await page.locator('#files').setInputFiles([await photo('coffee.jpg', 96)]);
      const dialog = page.getByRole('dialog', { name: 'API key' });
      await expect.poll(() => dialog.isVisible()).toBe(true);
      await page.getByLabel('Key', { exact: true }).fill(key);
      await dialog.getByRole('button', { name: 'Save' }).click();
      const coffee = card(page, 'coffee.jpg');
      await expect.poll(() => coffee.getAttribute('data-phase'), { timeout: 30_000 }).toBe('completed');
      expect(await coffee.locator('.facts').textContent()).toMatch(/Kept until.*then deleted from the service/);
      await expect
        .poll(() => coffee.locator('.status').textContent(), { timeout: 30_000 })
        .toMatch(/^Expired at .*: the service has deleted this photo and its result\. The copy shown here stays/);
      expect(await coffee.getAttribute('data-expired')).toBe('true');
      // The server agrees: the task answers 410 EXPIRED.
      const taskId = (await coffee.getAttribute('data-task-id')) as string;
      const status = await fetch(`${keyed.apiUrl}/api/v1/status/${taskId}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(status.status).toBe(410);
      await page.screenshot({ path: join(SHOTS, 'expired-card.png'), fullPage: true });
      expect(problems.errors).toEqual([]);
      expect(problems.httpErrors.filter((line) => !line.includes('status of 401'))).toEqual([]);
    } finally {
      await context.close();
      await keyed.stop();
    }
  });

  it('runs several photos to results with progress, before/after, downloads and the ZIP; refuses a text file on its own card', async () => {
    // A registered worker with a face restorer installed: the page offers it.
    await announceWorker([
      { id: 'realesrgan-x4fast', task: 'upscale', ready: true, default: true },
      { id: 'gfpgan-1.4', task: 'face-restore', ready: true, default: true, face_size: 512 },
      { id: 'gpen-bfr-1024', task: 'face-restore', ready: true, default: false, face_size: 1024 },
    ]);
    const worker = await stack.startWorker({ engine });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const { page, problems } = await openApp(context, stack.apiUrl);
    await expect.poll(() => page.getByLabel('Face model').isVisible()).toBe(true);
    expect(await page.getByLabel('Face model').inputValue()).toBe('gfpgan-1.4');
    // Each restorer with its face size, as /api/v1/models reports it.
    expect(await page.getByLabel('Face model').locator('option').allTextContents()).toEqual([
      'gfpgan-1.4 (default, 512 px)',
      'gpen-bfr-1024 (1024 px)',
    ]);
    // The menus built from the contracts (web/build.ts) are the ones the page shows.
    expect(await page.getByLabel('Format').locator('option').allTextContents()).toEqual([
      'same as the photo',
      'JPEG',
      'PNG',
      'WebP',
    ]);
    await fastSettings(page);
    await page.reload(); // settings survive a reload (localStorage)
    expect(await page.getByLabel('Quality').inputValue()).toBe('fast');
    expect(await page.getByLabel('Scale').inputValue()).toBe('2');
    await recordStatuses(page);

    const photos = [await photo('astronaut.jpg', 160), await photo('coffee.jpg', 160), await photo('camera.jpg', 128)];
    const text = { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('shopping list: milk, eggs\n') };
    await page.locator('#files').setInputFiles([photos[0], text, photos[1], photos[2]] as Payload[]);

    await expect.poll(() => page.locator('.card[data-phase="completed"]').count(), { timeout: 90_000 }).toBe(3);
    const refused = card(page, 'notes.jpg');
    expect(await refused.getAttribute('data-phase')).toBe('failed');
    expect(await refused.locator('.status').textContent()).toMatch(/^Not an image this service can read/);
    expect(await page.locator('#summary').textContent()).toBe('3 of 4 done, 1 failed.');

    // Progress was on screen before each result: upload bytes, then the task's own stages.
    const seen = await statusLog(page);
    for (const p of photos) {
      const mine = seen.filter((line) => line.startsWith(`${p.name}|`));
      const done = mine.findIndex((line) => line.includes('|completed|'));
      expect(done, `${p.name}: ${mine.join(' / ')}`).toBeGreaterThan(0);
      expect(mine.slice(0, done).some((line) => /\|uploading\|Uploading/.test(line))).toBe(true);
      expect(mine.slice(0, done).some((line) => /\|(queued|processing)\|.* \d+ %$/.test(line))).toBe(true);
    }
    expect(
      seen.some((line) =>
        /\|processing\|(Getting the photo|Reading the photo|Finding faces|Upscaling|Resizing|Saving the result|Storing the result) · \d+ %/.test(
          line,
        ),
      ),
      seen.join(' / '),
    ).toBe(true);

    for (const p of photos) {
      const c = card(page, p.name);
      const input = await sharp(p.buffer).metadata();
      // Before and after, both loaded, over the same view; the result is twice the input.
      const sizes = await c.evaluate((el) =>
        [...el.querySelectorAll<HTMLImageElement>('.compare img')].map((img) => [
          img.className,
          img.naturalWidth,
          img.naturalHeight,
        ]),
      );
      expect(sizes).toEqual([
        ['before', input.width, input.height],
        ['after', (input.width ?? 0) * 2, (input.height ?? 0) * 2],
      ]);
      expect(await c.locator('.facts').textContent()).toContain(
        `${input.width}×${input.height} → ${(input.width ?? 0) * 2}×${(input.height ?? 0) * 2}`,
      );
      const download = c.getByRole('link', { name: `Download ${p.name}` });
      expect(await download.getAttribute('download')).toMatch(/_enhanced\.jpg$/);
    }
    const astronaut = card(page, 'astronaut.jpg');
    expect(await astronaut.locator('.facts').textContent()).toMatch(/1 detected, 0 restored/);
    // No restorer on the worker that ran it: the card says so in words.
    expect(await astronaut.locator('.notice').first().textContent()).toMatch(
      /^Faces were not restored: no face restoration model is installed.*npm run models -- --with gfpgan-1\.4/,
    );
    await astronaut.getByRole('slider').fill('20');
    expect(await astronaut.locator('img.after').evaluate((img) => (img as HTMLElement).style.clipPath)).toBe(
      'inset(0px 0px 0px 20%)',
    );
    await astronaut.getByRole('button', { name: '100 %' }).click();
    expect(await astronaut.locator('.stage').evaluate((el) => el.getBoundingClientRect().width)).toBe(320);
    await astronaut.getByRole('button', { name: '100 %' }).click();

    const [zipDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download all (ZIP)' }).click(),
    ]);
    const zip = readZip(await readFile((await zipDownload.path()) as string));
    expect(
      zip
        .map((e) => e.name)
        .filter((n) => n.endsWith('.jpg'))
        .sort(),
    ).toEqual(['astronaut_enhanced.jpg', 'camera_enhanced.jpg', 'coffee_enhanced.jpg']);

    // Screenshots: desktop and phone, light and dark. At 390 px nothing scrolls sideways.
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(SHOTS, `desktop-${scheme}.png`), fullPage: true });
      if (scheme === 'light' && process.env.UPDATE_SCREENSHOTS === '1') {
        // The README's picture: the first screen, as a palette PNG so the repository stays small.
        const shot = await page.screenshot({ fullPage: false });
        await sharp(shot).png({ palette: true, quality: 90, effort: 10 }).toFile(README_SHOT);
      }
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(SHOTS, `phone-${scheme}.png`), fullPage: true });
    }

    expect(problems.errors).toEqual([]);
    expect(problems.httpErrors).toHaveLength(1);
    expect(problems.httpErrors[0]).toContain('status of 415');
    await context.close();
    await worker.stop();
  });
});
