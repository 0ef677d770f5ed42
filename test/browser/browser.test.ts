import { describe, expect, it } from 'vitest';
import { findChromium } from './browser.ts';

describe('finding the browser for the web app tests', () => {
  it('says how to install one when none is on PATH (the tests then fail, they do not skip)', () => {
    expect(() => findChromium({ PATH: '/nonexistent' })).toThrow(/apt-get install -y chromium/);
  });

  it('takes CHROMIUM_PATH as given, else the first chromium on PATH', () => {
    expect(findChromium({ CHROMIUM_PATH: '/opt/chrome/chrome', PATH: '' })).toBe('/opt/chrome/chrome');
    expect(findChromium({ PATH: '/nonexistent:/usr/bin' })).toBe('/usr/bin/chromium');
  });
});
