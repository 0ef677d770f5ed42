/**
 * Builds the web app into web/dist (committed, so `npm start` and the API image need no build step):
 * app.js (bundled, minified), app.css (minified) and index.html with content hashes on the asset URLs.
 * `node services/api/web/build.ts` rebuilds; tests/build.test.ts fails when dist/ is not what this produces.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const SRC = join(import.meta.dirname, 'src');
export const DIST = join(import.meta.dirname, 'dist');

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 10);

/** The built files by name; deterministic for a given esbuild version and sources. */
export async function buildWeb(): Promise<Record<string, string>> {
  const common = { bundle: true, minify: true, write: false, logLevel: 'silent', legalComments: 'none' } as const;
  const [js, css] = await Promise.all([
    build({ ...common, entryPoints: [join(SRC, 'main.ts')], format: 'esm', target: 'es2022', outfile: 'app.js' }),
    build({ ...common, entryPoints: [join(SRC, 'app.css')], outfile: 'app.css' }),
  ]);
  const appJs = js.outputFiles[0]?.text ?? '';
  const appCss = css.outputFiles[0]?.text ?? '';
  const html = (await readFile(join(SRC, 'index.html'), 'utf8'))
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
