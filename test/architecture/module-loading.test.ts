import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const hook = fileURLToPath(new URL('./record-loads.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pe-loads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** npm packages and workspaces a Node process loaded, by name (e.g. onnxruntime-node, @photoenhance/core). */
function packagesLoaded(args: string[]): Set<string> {
  const out = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  const run = spawnSync(process.execPath, ['--import', hook, ...args], {
    cwd: root,
    env: { ...process.env, LOADED_MODULES_OUT: out },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(run.status, `${args.join(' ')} failed:\n${run.stderr}`).toBe(0);
  const urls = JSON.parse(readFileSync(out, 'utf8')) as string[];
  const names = new Set<string>();
  for (const url of urls) {
    const dep = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    if (dep) names.add(dep);
    const workspace = /\/(?:packages|services)\/([^/]+)\/src\//.exec(url)?.[1];
    if (workspace && !url.includes('/node_modules/')) names.add(`@photoenhance/${workspace}`);
    if (/\/models\/src\//.test(url) && !url.includes('/node_modules/')) names.add('@photoenhance/models');
  }
  return names;
}

const evalImport = (specifier: string) => ['--input-type=module', '-e', `await import(${JSON.stringify(specifier)});`];

describe('what each entry point loads (issue: the API without an ML runtime)', () => {
  it('the API never loads onnxruntime, the engine or the models package', () => {
    const loaded = packagesLoaded(evalImport('@photoenhance/api'));
    expect(loaded).toContain('@photoenhance/core');
    expect(loaded).toContain('hono');
    for (const heavy of ['onnxruntime-node', 'onnxruntime-common', '@photoenhance/engine', '@photoenhance/models']) {
      expect(loaded, heavy).not.toContain(heavy);
    }
  });

  it('importing a contract loads neither sharp, onnxruntime nor the AWS SDK', () => {
    const loaded = packagesLoaded(evalImport('@photoenhance/contracts'));
    expect(loaded).toContain('zod');
    for (const heavy of ['sharp', 'onnxruntime-node', '@aws-sdk/client-s3', '@aws-sdk/client-sqs', 'fauxqs']) {
      expect(loaded, heavy).not.toContain(heavy);
    }
  });

  it('the CLI enhances a photo without loading the AWS SDK, fauxqs or the service plumbing', () => {
    const input = join(root, 'packages/engine/tests/fixtures/faces/astronaut.jpg');
    const output = join(dir, 'out.png');
    const loaded = packagesLoaded([
      'packages/cli/src/main.ts',
      'enhance',
      input,
      '-o',
      output,
      '--scale',
      '1',
      '--quality',
      'fast',
      '--no-face',
    ]);
    expect(loaded).toContain('onnxruntime-node');
    expect(loaded).toContain('@photoenhance/engine');
    for (const plumbing of ['@aws-sdk/client-s3', '@aws-sdk/client-sqs', 'fauxqs', '@photoenhance/core']) {
      expect(loaded, plumbing).not.toContain(plumbing);
    }
  });
});
