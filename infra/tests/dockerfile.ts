/**
 * Just enough Dockerfile and .dockerignore reading to check the container files without a Docker engine:
 * instructions per stage, COPY sources, and whether the build context would contain a path.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../src/images.ts';

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Stages with their instructions; comment lines (also inside continuations) dropped, continuations joined. */
export function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push((current + line).trim());
    current = '';
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const argText = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const [image = '', as, name] = argText.split(/\s+/);
      stages.push({
        from: image.replace(/\$\{(\w+)\}/g, (_m, n: string) => args[n] ?? ''),
        ...(as?.toUpperCase() === 'AS' && name ? { name } : {}),
        instructions: [],
      });
    } else if (keyword.toUpperCase() === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = argText.split('=');
      args[name] = value;
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args: argText });
    }
  }
  return { args, stages };
}

export function readDockerfile(file: string): ReturnType<typeof parseDockerfile> {
  return parseDockerfile(readFileSync(join(REPO_ROOT, file), 'utf8'));
}

/** Sources of a COPY from the build context (not `--from=`), or undefined for other instructions. */
export function contextSources(instruction: Instruction): string[] | undefined {
  if (instruction.keyword !== 'COPY') return undefined;
  const words = instruction.args.split(/\s+/);
  if (words.some((w) => w.startsWith('--from='))) return undefined;
  const paths = words.filter((w) => !w.startsWith('--'));
  return paths.slice(0, -1);
}

/** Docker's .dockerignore rules: patterns with * ? **, `!` exceptions, the last matching rule wins. */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const regex = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negate, regex: new RegExp(`^${regex}$`) };
    });
  return (path: string) => {
    const clean = path.replace(/^\.\/|\/+$/g, '');
    // A path is excluded when a rule matches it or one of its parent folders.
    const segments = clean.split('/');
    const candidates = segments.map((_s, i) => segments.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) {
      if (candidates.some((c) => rule.regex.test(c))) excluded = !rule.negate;
    }
    return excluded;
  };
}
