/**
 * PhotoEnhanceAI's stream-processing page flow in Chromium, against the real API and a real worker: a page on
 * its own origin (fixtures/stream-page.html, written to behave as that page does) uploads each file as soon
 * as it is picked, polls each task, shows progress as progress * 100 % and each result as it lands.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { WorkerEngine } from '@photoenhance/gpu-worker';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEngine } from '../harness/engine.ts';
import { testPhoto } from '../harness/images.ts';
import { type Stack, startStack } from '../harness/stack.ts';
import { launchBrowser, openApp } from './browser.ts';

const PAGE = join(import.meta.dirname, 'fixtures', 'stream-page.html');

let stack: Stack;
let browser: Browser;
let pageServer: Server;
let pageUrl: string;
const engine = createTestEngine();

beforeAll(async () => {
  const html = await readFile(PAGE);
  // The page's own origin, as the seed serves its pages apart from the API: every API call is cross-origin.
  pageServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`;
  [browser, stack] = await Promise.all([launchBrowser(), startStack()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await engine.close();
  await new Promise((resolve) => pageServer?.close(resolve));
});

/** The real engine, holding every job after the first until released: the first result must show alone. */
function gatedEngine(inner: WorkerEngine): { engine: WorkerEngine; release(): void } {
  let calls = 0;
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    engine: {
      warmUp: () => inner.warmUp(),
      close: async () => {},
      async enhance(input, options, ctx) {
        if (calls++ > 0) await gate;
        return inner.enhance(input, options, ctx);
      },
    },
    release: () => release(),
  };
}

const streamLog = (page: Page) => page.evaluate(() => (window as unknown as { streamLog: string[] }).streamLog);

describe("PhotoEnhanceAI's stream page in Chromium", () => {
  it('uploads each file as soon as it is picked, polls, and shows each result as it lands', async () => {
    const context = await browser.newContext();
    const { page, problems } = await openApp(context, `${pageUrl}?api=${encodeURIComponent(stack.apiUrl)}`);
    const files = await Promise.all(
      ['a.png', 'b.png', 'c.png'].map(async (name) => ({
        name,
        mimeType: 'image/png',
        buffer: await testPhoto(24, 16),
      })),
    );
    await page.locator('#files').setInputFiles(files);

    // No worker yet: every file was uploaded (200) and is being polled as queued.
    await expect
      .poll(async () => (await streamLog(page)).filter((e) => /^status:\d:queued:0%$/.test(e)).length, {
        timeout: 20_000,
      })
      .toBeGreaterThanOrEqual(3);
    const uploads = (await streamLog(page)).filter((e) => e.startsWith('upload:'));
    expect(uploads.sort()).toEqual(['upload:0', 'upload:1', 'upload:2']);

    const gated = gatedEngine(engine);
    const worker = await stack.startWorker({ engine: gated.engine });
    try {
      // The first result shows while the other two are still held by the worker or waiting in the queue.
      await expect
        .poll(async () => (await streamLog(page)).filter((e) => e.startsWith('shown:')), { timeout: 60_000 })
        .toHaveLength(1);
      const statuses = await page.locator('#results li .status').allTextContents();
      expect(statuses.filter((s) => s === 'completed')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'queued' || s === 'processing')).toHaveLength(2);
      expect(await page.locator('#results img').count()).toBe(1);

      gated.release();
      await expect
        .poll(async () => (await streamLog(page)).filter((e) => e.startsWith('shown:')).length, { timeout: 60_000 })
        .toBe(3);
    } finally {
      gated.release();
      await worker.stop();
    }

    const log = await streamLog(page);
    // Each result is the enhanced image itself (default ×4), loaded straight from the download URL.
    expect(log.filter((e) => e.startsWith('shown:')).map((e) => e.split(':')[2])).toEqual(['96x64', '96x64', '96x64']);
    expect(log.filter((e) => e.startsWith('failed:'))).toEqual([]);
    // progress is a fraction: progress * 100 never goes past 100 %.
    for (const entry of log.filter((e) => e.startsWith('status:'))) {
      const percent = Number(entry.split(':')[3]?.replace('%', ''));
      expect(percent, entry).toBeGreaterThanOrEqual(0);
      expect(percent, entry).toBeLessThanOrEqual(100);
    }
    expect(log).toContain('status:0:completed:100%');
    expect(problems.errors).toEqual([]);
    await context.close();
  });
});
