/**
 * Builds the web app into web/dist (committed, so `npm start` and the API image need no build step):
 * app.js (bundled, minified), app.css (minified) and index.html with content hashes on the asset URLs and
 * its <option> lists generated from the contracts (quality levels, output formats), so a new level or
 * output format reaches the page without an edit here beyond, for a level, its words.
 * `node services/api/web/build.ts` rebuilds; tests/build.test.ts fails when dist/ is not what this produces.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QUALITY_LEVELS, type QualityLevel } from '@photoenhance/contracts/choices';
import { IMAGE_FORMATS, OUTPUT_FORMATS } from '@photoenhance/contracts/formats';
import { build } from 'esbuild';

const SRC = join(import.meta.dirname, 'src');
export const DIST = join(import.meta.dirname, 'dist');

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 10);

/** Words for each quality level, in menu order; the type makes a new level a compile error until it has words. */
const QUALITY_WORDS: Record<QualityLevel, string> = {
  auto: "auto (best for the worker's hardware)",
  fast: 'fast',
  medium: 'medium',
  high: 'high (GPU)',
};

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const options = (entries: readonly (readonly [string, string])[]) =>
  entries.map(([value, words]) => `<option value="${escapeHtml(value)}">${escapeHtml(words)}</option>`).join('');

/** The settings form's <option> lists, from the contracts. */
export function settingsOptions(): { quality: string; format: string } {
  const levels = Object.keys(QUALITY_WORDS).filter((l): l is QualityLevel =>
    QUALITY_LEVELS.includes(l as QualityLevel),
  );
  return {
    quality: options(levels.map((l) => [l, QUALITY_WORDS[l]])),
    format: options(OUTPUT_FORMATS.map((f) => [f, f === 'auto' ? 'same as the photo' : IMAGE_FORMATS[f].label])),
  };
}

/** The built files by name; deterministic for a given esbuild version and sources. */
export async function buildWeb(): Promise<Record<string, string>> {
  const common = { bundle: true, minify: true, write: false, logLevel: 'silent', legalComments: 'none' } as const;
  const [js, css] = await Promise.all([
    build({ ...common, entryPoints: [join(SRC, 'main.ts')], format: 'esm', target: 'es2022', outfile: 'app.js' }),
    build({ ...common, entryPoints: [join(SRC, 'app.css')], outfile: 'app.css' }),
  ]);
  const appJs = js.outputFiles[0]?.text ?? '';
  const appCss = css.outputFiles[0]?.text ?? '';
  const { quality, format } = settingsOptions();
  const html = (await readFile(join(SRC, 'index.html'), 'utf8'))
    .replace('__QUALITY_OPTIONS__', quality)
    .replace('__FORMAT_OPTIONS__', format)
    .replace('__JS_HASH__', hash(appJs))
    .replace('__CSS_HASH__', hash(appCss));
  return { 'app.js': appJs, 'app.css': appCss, 'index.html': html };
}

if (import.meta.main) {
  const files = await buildWeb();
  await mkdir(DIST, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(DIST, name), text);
  const { gzipSync } = await import('node:zlib');
  for (const [name, text] of Object.entries(files)) {
    process.stdout.write(`${name.padEnd(11)} ${String(text.length).padStart(7)} B, gzip ${gzipSync(text).length} B\n`);
  }
}
