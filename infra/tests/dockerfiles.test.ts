import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REPO_ROOT } from '../src/images.ts';
import { loadComposeModel, service } from './compose-model.ts';
import { contextSources, dockerignoreMatcher, readDockerfile, type Stage } from './dockerfile.ts';

const RootPackageSchema = z.object({
  workspaces: z.array(z.string()),
  scripts: z.record(z.string(), z.string()),
  devDependencies: z.record(z.string(), z.string()),
});
const rootPackage = RootPackageSchema.parse(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')));
const isIgnored = dockerignoreMatcher(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));

/** Workspace folders of the root package.json, globs (`packages/*`) expanded. */
function workspaceDirs(): string[] {
  return rootPackage.workspaces.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(REPO_ROOT, parent), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(REPO_ROOT, parent, d.name, 'package.json')))
      .map((d) => `${parent}/${d.name}`);
  });
}

function packageOf(dir: string): { name: string; scripts?: Record<string, string> } {
  return JSON.parse(readFileSync(join(REPO_ROOT, dir, 'package.json'), 'utf8'));
}

function run(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
}

function finalStage(stages: Stage[]): Stage {
  const last = stages.at(-1);
  if (!last) throw new Error('no stage');
  return last;
}

const IMAGES = [
  { file: 'infra/docker/api.Dockerfile', workspace: 'services/api' },
  { file: 'infra/docker/gpu-worker.Dockerfile', workspace: 'services/gpu-worker' },
] as const;

describe.each(IMAGES)('$file', ({ file, workspace }) => {
  const { args, stages } = readDockerfile(file);
  const [deps] = stages;
  const runtime = finalStage(stages);

  it('copies only paths that exist and that .dockerignore keeps in the build context', () => {
    const sources = stages.flatMap((s) => s.instructions.flatMap((i) => contextSources(i) ?? []));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect(existsSync(join(REPO_ROOT, source)), `${source} exists`).toBe(true);
      expect(isIgnored(source), `${source} is in the build context`).toBe(false);
    }
  });

  it('gives npm ci every workspace manifest, the lockfile and the postinstall script', () => {
    const copied = new Set((deps?.instructions ?? []).flatMap((i) => contextSources(i) ?? []));
    for (const dir of workspaceDirs()) expect(copied, `${dir}/package.json`).toContain(`${dir}/package.json`);
    for (const file of ['package.json', 'package-lock.json', '.npmrc']) expect(copied).toContain(file);
    const postinstallFile = /node\s+(\S+)/.exec(rootPackage.scripts.postinstall ?? '')?.[1];
    if (postinstallFile) expect(copied).toContain(postinstallFile);
  });

  it('installs the production dependencies of its own workspace only', () => {
    const install = run(deps as Stage).find((r) => r.includes('npm ci'));
    expect(install).toContain('--omit=dev');
    expect(install).toContain(`--workspace ${packageOf(workspace).name}`);
  });

  it('runs Node 24 from the base image, the major the project pins', () => {
    const pinned = /(\d+)/.exec(rootPackage.devDependencies.node ?? '')?.[1];
    expect(pinned).toBe('24');
    expect(args.NODE_IMAGE).toMatch(new RegExp(`^node:${pinned}-`));
  });

  it('runs as an unprivileged user, stops on SIGTERM, has a health check and starts the service entry', () => {
    const last = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
    expect(last('USER')).toBeDefined();
    expect(last('USER')).not.toMatch(/^(root|0)(:|$)/);
    expect(last('STOPSIGNAL')).toBe('SIGTERM');
    expect(last('HEALTHCHECK')).toMatch(/CMD .*\/health/);
    const cmd = JSON.parse(last('CMD') ?? '[]') as string[];
    // The same file `npm start` of the workspace runs.
    const start = packageOf(workspace).scripts?.start;
    expect(start).toBe(`node ${cmd[1]?.slice(workspace.length + 1)}`);
    expect(cmd[0]).toBe('node');
    expect(existsSync(join(REPO_ROOT, cmd[1] ?? ''))).toBe(true);
  });
});

describe('infra/docker/gpu-worker.Dockerfile', () => {
  const { args, stages } = readDockerfile('infra/docker/gpu-worker.Dockerfile');
  const build = stages[0] as Stage;
  const runtime = finalStage(stages);

  it('runs on a CUDA 12 + cuDNN runtime base with Node copied from the Node image', () => {
    expect(args.CUDA_IMAGE).toMatch(/^nvidia\/cuda:12\.\d+(\.\d+)?-cudnn-runtime-ubuntu/);
    expect(runtime.from).toBe(args.CUDA_IMAGE);
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toContainEqual(expect.stringMatching(/^--from=build \/usr\/local\/bin\/node /));
  });

  it('installs the CUDA execution provider of the locked onnxruntime-node at build time', () => {
    const rebuild = run(build).find((r) => r.includes('npm run cuda'));
    const flag = /ONNXRUNTIME_NODE_INSTALL=(\S+)/.exec(rootPackage.scripts.cuda ?? '')?.[1];
    expect(flag).toBe('cuda12');
    // The installed onnxruntime-node must still know that manifest (a future major may move to CUDA 13).
    const metadata = readFileSync(join(REPO_ROOT, 'node_modules/onnxruntime-node/script/install-metadata.js'), 'utf8');
    expect(metadata).toContain(`'linux/x64:${flag}'`);
    expect(rebuild).toContain('libonnxruntime_providers_cuda.so');
  });

  it('prepares the offline models at build time into the directory the compose volume mounts', () => {
    expect(rootPackage.scripts.models).toBeDefined();
    const buildEnv = build.instructions
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    const buildDir = /PHOTOENHANCE_MODEL_DIR=(\S+)/.exec(buildEnv)?.[1];
    expect(run(build)).toContain('npm run models');
    const runtimeEnv = runtime.instructions
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    const runtimeDir = /PHOTOENHANCE_MODEL_DIR=(\S+)/.exec(runtimeEnv)?.[1];
    const modelCopy = runtime.instructions.find((i) => i.keyword === 'COPY' && buildDir && i.args.includes(buildDir));
    expect(modelCopy?.args).toMatch(new RegExp(`${buildDir} ${runtimeDir}$`));
    // Owned by the worker user: restorer downloads land there.
    expect(modelCopy?.args).toContain('--chown=photoenhance');
    const compose = service(loadComposeModel().model, 'gpu-worker');
    expect(compose.environment.PHOTOENHANCE_MODEL_DIR).toBe(runtimeDir);
  });
});

describe('.dockerignore', () => {
  it('keeps dependencies, model caches, local state and secrets out of the build context', () => {
    for (const path of [
      'node_modules',
      'services/api/node_modules/x',
      'models/.cache/x.onnx',
      '.data',
      '.env',
      '.git',
    ]) {
      expect(isIgnored(path), path).toBe(true);
    }
    for (const path of ['test/package.json', 'services/api/src/server.ts', 'models/manifest.json']) {
      expect(isIgnored(path), path).toBe(false);
    }
    expect(isIgnored('test/e2e/x.test.ts')).toBe(true);
  });
});
