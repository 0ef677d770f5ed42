/**
 * A real browser for the web app's tests: Debian's `chromium` (apt-get install chromium; .ci/run installs it)
 * driven by playwright-core, which ships no browser of its own. No browser is a failure, never a skip: these
 * tests are what proves the page works.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome'];

/** CHROMIUM_PATH, or the first of CANDIDATES on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CHROMIUM_PATH) return env.CHROMIUM_PATH;
  for (const dir of (env.PATH ?? '').split(':')) {
    for (const name of CANDIDATES) {
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here
      }
    }
  }
  throw new Error(
    'No Chromium found for the browser tests: install it (`apt-get install -y chromium`, as .ci/run does) or set CHROMIUM_PATH',
  );
}

export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: findChromium(), args: ['--no-sandbox'] });
}

/** Everything the page says on its console or throws, so a test can assert there is none. */
export interface PageProblems {
  errors: string[];
  /** "Failed to load resource" lines: the browser's own log of an HTTP error answer a test asked for. */
  httpErrors: string[];
}

export async function openApp(context: BrowserContext, url: string): Promise<{ page: Page; problems: PageProblems }> {
  const page = await context.newPage();
  const problems: PageProblems = { errors: [], httpErrors: [] };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (text.startsWith('Failed to load resource: the server responded with a status of'))
      problems.httpErrors.push(text);
    else problems.errors.push(text);
  });
  page.on('pageerror', (err) => problems.errors.push(`uncaught: ${err.message}`));
  await page.goto(url);
  return { page, problems };
}
