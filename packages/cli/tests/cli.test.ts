import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/photoenhance.js', import.meta.url));
const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], node = process.execPath): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(node, [BIN, ...args], {
      env: { ...process.env, ORT_PROVIDERS: 'cpu' },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-test-'));
  const pixels = Buffer.alloc(20 * 14 * 3, 0).map((_, i) => (i * 29) % 256);
  await sharp(pixels, { raw: { width: 20, height: 14, channels: 3 } })
    .jpeg()
    .toFile(join(dir, 'a.jpg'));
  await sharp(pixels, { raw: { width: 20, height: 14, channels: 3 } })
    .png()
    .toFile(join(dir, 'b.png'));
  await writeFile(join(dir, 'broken.jpg'), 'this is text, not a JPEG');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('photoenhance CLI', () => {
  it('enhances one file to the named output, in the format of its extension', async () => {
    const out = join(dir, 'single', 'a_4x.png');
    await mkdir(join(dir, 'single'));
    const r = await cli(['enhance', join(dir, 'a.jpg'), '-o', out, '--scale', '4', '--quality', 'fast', '--no-face']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/20×14 → 80×56/);
    const meta = await sharp(out).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 80, 56]);
  });

  it('processes a glob into a directory and exits 1 naming each failure', async () => {
    const out = join(dir, 'out');
    const r = await cli([
      'enhance',
      join(dir, '*.{jpg,png}'),
      '-o',
      `${out}/`,
      '--scale',
      '2',
      '--quality',
      'fast',
      '--no-face',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✖ broken\.jpg: UNSUPPORTED_FORMAT/);
    expect(r.stdout).toMatch(/2 of 3 file\(s\) enhanced, 1 failed/);
    expect((await sharp(join(out, 'a_enhanced.jpg')).metadata()).width).toBe(40);
    expect((await sharp(join(out, 'b_enhanced.png')).metadata()).width).toBe(40);
  });

  it('rejects bad arguments with a message and a non-zero exit', async () => {
    const noOutput = await cli(['enhance', join(dir, 'a.jpg')]);
    expect(noOutput.code).not.toBe(0);
    expect(noOutput.stderr).toMatch(/--output/);
    const badScale = await cli(['enhance', join(dir, 'a.jpg'), '-o', join(dir, 'x.png'), '--scale', '20']);
    expect(badScale.code).not.toBe(0);
    expect(badScale.stderr).toMatch(/scale.*1 to 16/s);
    const missing = await cli(['enhance', join(dir, 'nope.jpg'), '-o', join(dir, 'x.png')]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/nope\.jpg: file not found/);
  });

  it('runs the precision asked for and names it; refuses an int8 variant that failed its fidelity floor', async () => {
    const out = join(dir, 'precision.png');
    const withPrecision = (precision: string) =>
      cli(['enhance', join(dir, 'a.jpg'), '-o', out, '-q', 'fast', '--no-face', '--precision', precision]);
    const fp32 = await withPrecision('fp32');
    expect(fp32.code).toBe(0);
    expect(fp32.stdout).toMatch(/models realesrgan-x4fast@fp32/);
    // the manifest records x4fast's int8 copy as below the floor (models/tests/int8.test.ts re-measures it)
    const int8 = await withPrecision('int8');
    expect(int8.code).toBe(1);
    expect(int8.stdout).toMatch(/INVALID_OPTIONS: precision int8 is not available: .*failed the fidelity floor/);
    const bad = await cli(['enhance', join(dir, 'a.jpg'), '-o', out, '--precision', 'int4']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/precision/);
  });

  it('says how much memory a photo needs when it will not fit the budget, and exits 1', async () => {
    const out = join(dir, 'budget.png');
    const args = ['enhance', join(dir, 'a.jpg'), '-o', out, '-q', 'fast', '--no-face', '--scale', '4'];
    const refused = await cli([...args, '--memory-budget', '50']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /✖ a\.jpg: MEMORY_BUDGET_EXCEEDED: A 20×14 photo at ×4 needs about \d+ MB; this run \(--memory-budget\) has 50 MB for one job/,
    );
    expect(existsSync(out)).toBe(false);
    const fits = await cli([...args, '--memory-budget', '4096']);
    expect(fits.code).toBe(0);
  });

  it('lists models and their readiness', async () => {
    const r = await cli(['models']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ready\s+realesrgan-x4fast/);
    expect(r.stdout).toMatch(/missing\s+gfpgan-1\.4/);
  });

  // CI and many servers still have an old system Node: the bin must re-run itself on the bundled Node 24.
  it.runIf(existsSync('/usr/bin/node'))('works when started by an older system Node', async () => {
    const r = await cli(['models'], '/usr/bin/node');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/realesrgan-x4fast/);
  });

  it('exits quietly when its output pipe closes early (| head)', async () => {
    const { spawnSync } = await import('node:child_process');
    // `true` exits without reading, so every write of the CLI meets a closed pipe.
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" models | true`], {
      encoding: 'utf8',
    });
    expect(r.stderr).not.toMatch(/EPIPE/);
    expect(r.status).toBe(0);
  });

  it('documents itself', async () => {
    const r = await cli(['enhance', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--scale', '--quality', '--tile', '--format', '--no-face', '--model', '--face-model'])
      expect(r.stdout).toContain(flag);
  });

  it('gives enhance and video one definition of their shared options: same help, same ranges', async () => {
    const [photo, video] = await Promise.all([cli(['enhance', '--help']), cli(['video', '--help'])]);
    // Help wraps at different columns per command: compare the words.
    const words = (help: string) => help.replace(/\s+/g, ' ');
    for (const shared of [
      '--no-face skip face detection and restoration',
      '--face-blend <0-1> blend restored faces: 0 = keep upscaled, 1 = fully restored (default: 1)',
      '--fidelity <0-1> fidelity weight for models that take one (CodeFormer) (default: 0.5)',
      '--threads <n> intra-op threads for CPU inference',
    ]) {
      expect(words(photo.stdout)).toContain(shared);
      expect(words(video.stdout)).toContain(shared);
    }
    expect(video.stdout).toContain('-o, --output <file>');
    expect(photo.stdout).toContain('-o, --output <file|dir>');
    // Defaults and bounds come from the contracts' schemas (scale 1–16, blend and fidelity 0–1, CRF 0–51).
    expect(words(video.stdout)).toContain('--crf <0-51> H.264 quality: 0 lossless … 51 worst (default: 18)');
    const out = join(dir, 'x.png');
    const refusals = [
      [['enhance', join(dir, 'a.jpg'), '-o', out, '--face-blend', '2'], /face-blend.*a number from 0 to 1/s],
      [['video', join(dir, 'a.mp4'), '-o', out, '--face-blend', '-1'], /face-blend.*a number from 0 to 1/s],
      [['video', join(dir, 'a.mp4'), '-o', out, '--scale', '17'], /scale.*a number from 1 to 16/s],
      [['video', join(dir, 'a.mp4'), '-o', out, '--crf', '52'], /crf.*an integer from 0 to 51/s],
      [['enhance', join(dir, 'a.jpg'), '-o', out, '--max-faces', '1.5'], /max-faces.*an integer from 1 to 100/s],
    ] as const;
    const outcomes = await Promise.all(refusals.map(([args]) => cli([...args])));
    outcomes.forEach((r, k) => {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(refusals[k]?.[1] ?? /never/);
    });
  });
});
