#!/usr/bin/env node
// The CLI is TypeScript run by Node's built-in type stripping (Node >= 22.18 / 24). When an older
// Node starts this shim (e.g. a system Node 20 via npx), re-run it on the Node 24 that the project
// installs from npm, so `npx photoenhance` works on any machine after `npm ci`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.ts');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 18)) {
  await import(main);
} else {
  let bundled;
  try {
    bundled = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');
  } catch {}
  if (!bundled || !existsSync(bundled)) {
    console.error(
      `photoenhance needs Node.js 24 LTS (found ${process.version}). Run \`npm ci\` in the project or install Node 24.`,
    );
    process.exit(1);
  }
  const r = spawnSync(bundled, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
