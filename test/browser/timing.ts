import type { Page } from 'playwright-core';

interface Timed {
  picked: number;
  shown: number[];
}

/**
 * Times each result onto the screen in the page's own clock: from the file picker's change event to the
 * moment a card turns completed and its result image is decoded. Call before picking the files.
 */
export async function timeResults(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as Timed;
    w.shown = [];
    document.querySelector('#files')?.addEventListener('change', () => {
      w.picked = performance.now();
    });
    const seen = new Set<Element>();
    new MutationObserver(() => {
      for (const card of document.querySelectorAll<HTMLElement>('.card[data-phase="completed"]')) {
        if (seen.has(card)) continue;
        seen.add(card);
        const img = card.querySelector<HTMLImageElement>('img.after');
        void img?.decode().then(() => w.shown.push((performance.now() - w.picked) / 1000));
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-phase'] });
  });
}

/** Waits for `count` results on screen; seconds from the pick to each, in the order they appeared. */
export async function resultTimes(page: Page, count: number, timeoutMs = 600_000): Promise<number[]> {
  await page.waitForFunction((n) => (window as unknown as Timed).shown.length >= n, count, {
    timeout: timeoutMs,
    polling: 100,
  });
  return page.evaluate(() => (window as unknown as Timed).shown);
}

/** The task id of every card, in card order (unset while a card has not been queued). */
export function cardTaskIds(page: Page): Promise<(string | undefined)[]> {
  return page.locator('.card').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.taskId));
}
