import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTaskRepository } from '@photoenhance/core';
import { makeClip } from '@photoenhance/video/test-clips';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEngine } from '../harness/engine.ts';
import { type Stack, startStack } from '../harness/stack.ts';
import { launchBrowser, openApp } from './browser.ts';

const SHOTS = process.env.SCREENSHOT_DIR ?? join(tmpdir(), 'photoenhance-browser');
let stack: Stack;
let launching: Promise<Browser>;
let dir: string;
let clip: Buffer;
const engine = createTestEngine();

beforeAll(async () => {
  launching = launchBrowser();
  launching.catch(() => undefined);
  dir = await mkdtemp(join(tmpdir(), 'browser-video-'));
  clip = await readFile(await makeClip(dir, 'basic', { size: '96x72', seconds: 1, file: 'clip.mp4' }));
  stack = await startStack({ apiEnv: { VIDEO_SEGMENT_FRAMES: '8' } });
  await stack.startWorker({ engine });
  await mkdir(SHOTS, { recursive: true });
});
afterAll(async () => {
  await (await launching.catch(() => undefined))?.close();
  await stack?.stop();
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('web app video card in Chromium', () => {
  it('uploads a clip, shows frames done, then the result beside the original with a download', async () => {
    const browser = await launching;
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
    const { page, problems } = await openApp(context, stack.apiUrl);
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        const text = document.querySelector('.video-card .status')?.textContent;
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(document.querySelector('#photos') as HTMLElement, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    });
    // Where the card's frames come from: the task's event stream, not polls of the video's status.
    const requests: string[] = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    // Scale 2, fast, no faces: what the settings form sends for photos applies to the video's frames.
    await page.locator('#settings [name="scale"]').fill('2');
    await page.locator('#files').setInputFiles([{ name: 'clip.mp4', mimeType: 'video/mp4', buffer: clip }]);
    const card = page.locator('.video-card');
    await expect.poll(() => card.getAttribute('data-phase'), { timeout: 120_000 }).toBe('completed');
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    expect(seen.some((s) => /Enhancing frame \d+ of 24/.test(s))).toBe(true);
    const taskId = await card.getAttribute('data-task-id');
    expect(requests).toContain(`/api/v1/tasks/${taskId}/events`);
    // The video's own view is read once, after the stream's completed event (sizes and result), never polled.
    expect(requests.filter((p) => p === `/api/v1/videos/${taskId}`)).toHaveLength(1);
    // Both players load: the original and the result, at their own sizes.
    const sizes = await card.locator('video').evaluateAll((videos) =>
      Promise.all(
        (videos as HTMLVideoElement[]).map(
          (v) =>
            new Promise<string>((resolve) => {
              // The first frame decoded and painted (H.264 plays in this browser), not only the header read.
              const done = () => resolve(`${v.videoWidth}x${v.videoHeight}`);
              if (v.readyState >= 2) done();
              else {
                v.addEventListener('loadeddata', done, { once: true });
                v.addEventListener('error', () => resolve(`error ${v.error?.code}`), { once: true });
              }
            }),
        ),
      ),
    );
    expect(sizes).toEqual(['96x72', '192x144']);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      card.getByRole('link', { name: 'Download clip.mp4' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('clip_enhanced.mp4');
    await page.screenshot({ path: join(SHOTS, 'video-card.png'), fullPage: true });
    expect(problems.errors).toEqual([]);
    await context.close();
  });

  it('sends a big clip straight to storage (presigned PUT), then starts it and follows it', async () => {
    // Lossless noise: 7 MB for 1 s of 512×384, over the page's 4 MiB direct-upload threshold.
    const big = await readFile(await makeClip(dir, 'noise'));
    expect(big.length).toBeGreaterThan(4 * 1024 * 1024);
    const browser = await launching;
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const { page, problems } = await openApp(context, stack.apiUrl);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    await page.locator('#files').setInputFiles([{ name: 'big.mp4', mimeType: 'video/mp4', buffer: big }]);
    const card = page.locator('.video-card');
    await expect.poll(() => card.getAttribute('data-task-id'), { timeout: 60_000 }).toBeTruthy();
    const taskId = await card.getAttribute('data-task-id');
    expect(requests).toContain('POST /api/v1/videos/uploads');
    expect(requests.some((r) => r.startsWith('PUT ') && r.includes(taskId ?? '?'))).toBe(true);
    expect(requests).toContain(`POST /api/v1/videos/${taskId}/start`);
    expect(requests).not.toContain('POST /api/v1/videos');
    const record = await createTaskRepository(stack.backend.storage).read(taskId ?? '');
    expect(record?.video?.framesTotal).toBe(24);
    // Not enhanced here (seconds of CPU per frame): the card cancels it, which the worker honours.
    await card.getByRole('button', { name: 'Cancel big.mp4' }).click();
    await expect.poll(() => card.getAttribute('data-phase')).toBe('cancelled');
    expect(problems.errors).toEqual([]);
    await context.close();
  });
});
