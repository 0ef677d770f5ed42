import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The allowed arrows between workspaces (docs/design.md §2): services → core/engine → contracts/image →
 * models. Anything else — an import that runs back up, or the API reaching the engine — fails here.
 */
const ALLOWED: Record<string, string[]> = {
  '@photoenhance/contracts': [],
  '@photoenhance/image': ['@photoenhance/contracts'],
  '@photoenhance/video': ['@photoenhance/contracts'],
  '@photoenhance/engine': ['@photoenhance/contracts', '@photoenhance/image', '@photoenhance/models'],
  '@photoenhance/core': ['@photoenhance/contracts'],
  '@photoenhance/api': ['@photoenhance/contracts', '@photoenhance/image', '@photoenhance/core', '@photoenhance/video'],
  '@photoenhance/gpu-worker': [
    '@photoenhance/contracts',
    '@photoenhance/engine',
    '@photoenhance/core',
    '@photoenhance/video',
  ],
  '@photoenhance/cli': [
    '@photoenhance/contracts',
    '@photoenhance/engine',
    '@photoenhance/models',
    '@photoenhance/video',
  ],
  '@photoenhance/models': [],
};
const DIRS: Record<string, string> = {
  '@photoenhance/contracts': 'packages/contracts',
  '@photoenhance/image': 'packages/image',
  '@photoenhance/video': 'packages/video',
  '@photoenhance/engine': 'packages/engine',
  '@photoenhance/core': 'packages/core',
  '@photoenhance/api': 'services/api',
  '@photoenhance/gpu-worker': 'services/gpu-worker',
  '@photoenhance/cli': 'packages/cli',
  '@photoenhance/models': 'models',
};

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
const manifest = (dir: string) => JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Manifest;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Package names a file imports (static, dynamic and type imports), without node built-ins and relative paths. */
function importedPackages(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const names = new Set<string>();
  for (const m of text.matchAll(/(?<![.\w])(?:from|import)\s*\(?\s*['"]([^'"./][^'"]*)['"]/g)) {
    const spec = m[1] as string;
    if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
    names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
  }
  return [...names];
}

describe('workspace dependency graph', () => {
  for (const [name, dir] of Object.entries(DIRS)) {
    it(`${name} depends only on the workspaces below it`, () => {
      const deps = Object.keys(manifest(dir).dependencies ?? {}).filter((d) => d.startsWith('@photoenhance/'));
      expect(deps.filter((d) => !ALLOWED[name]?.includes(d))).toEqual([]);
    });

    it(`${name}: every package its src/ imports is declared, and every declared dependency is used`, () => {
      const { dependencies = {}, devDependencies = {} } = manifest(dir);
      const used = new Set(sourceFiles(join(root, dir, 'src')).flatMap(importedPackages));
      const undeclared = [...used].filter((p) => !(p in dependencies) && !(p in devDependencies));
      expect(undeclared, 'imported but not declared').toEqual([]);
      // @types packages, the Node runtime and binaries run by scripts are not imported.
      const unused = Object.keys(dependencies).filter((d) => !used.has(d) && !d.startsWith('@types/'));
      expect(unused, 'declared but never imported').toEqual([]);
    });
  }
});
