import { glob as fsGlob, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type EnhanceOptionsInput,
  EnhanceOptionsSchema,
  extensionFor,
  FaceOptionsSchema,
  OUTPUT_FORMATS,
  outputFormatForExtension,
  PRECISIONS,
  type Precision,
} from '@photoenhance/contracts';
import { processMemoryLimit } from '@photoenhance/engine';
import { modelStatus } from '@photoenhance/models';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  addFaceOptions,
  addRuntimeOptions,
  addTargetOptions,
  createCliEngine,
  failureReason,
  numberIn,
  type SharedFlags,
  type SharedHelp,
  schemaOption,
  sharedEnhanceOptions,
} from './shared-options.ts';
import { addVideoCommand } from './video.ts';

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

/** Expands globs ourselves so quoting works the same in every shell (and on Windows). */
async function expandInputs(patterns: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const pattern of patterns) {
    if (/[*?[\]{}]/.test(pattern)) {
      const matched: string[] = [];
      for await (const f of fsGlob(pattern)) matched.push(String(f));
      if (matched.length === 0) throw new InvalidArgumentError(`no file matches "${pattern}"`);
      files.push(...matched.sort());
    } else {
      files.push(pattern);
    }
  }
  return [...new Set(files.map((f) => resolve(f)))];
}

async function isDirectoryTarget(out: string, inputCount: number): Promise<boolean> {
  if (out.endsWith('/') || out.endsWith('\\')) return true;
  const s = await stat(out).catch(() => undefined);
  if (s?.isDirectory()) return true;
  return inputCount > 1;
}

interface EnhanceFlags extends SharedFlags {
  tile: number;
  tilePad: number;
  format: (typeof OUTPUT_FORMATS)[number];
  outputQuality: number;
  keepMetadata: boolean;
  onlyCenterFace: boolean;
  maxFaces: number;
  model?: string;
  precision: Precision;
  memoryBudget?: number;
}

async function runEnhance(patterns: string[], flags: EnhanceFlags): Promise<number> {
  const inputs = await expandInputs(patterns);
  const toDir = await isDirectoryTarget(flags.output, inputs.length);
  if (toDir) await mkdir(flags.output, { recursive: true });

  const format =
    flags.format === 'auto' && !toDir ? (outputFormatForExtension(extname(flags.output)) ?? 'auto') : flags.format;
  const shared = sharedEnhanceOptions(flags);
  const options: EnhanceOptionsInput = {
    ...shared,
    tileSize: flags.tile,
    tilePad: flags.tilePad,
    ...(flags.model ? { upscaleModel: flags.model } : {}),
    precision: flags.precision,
    face: { ...shared.face, onlyCenterFace: flags.onlyCenterFace, maxFaces: flags.maxFaces },
    output: { format, quality: flags.outputQuality, keepMetadata: flags.keepMetadata },
  };

  const engine = createCliEngine(flags, {
    // A photo that would not fit is refused before decoding, with the memory it needs in the message.
    memory: flags.memoryBudget
      ? { budgetBytes: flags.memoryBudget * 1024 * 1024, holder: 'this run (--memory-budget)' }
      : { limitBytes: processMemoryLimit(), holder: 'this machine' },
  });

  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {percentage}% | {file} | {stage}',
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const tty = process.stderr.isTTY;
  if (tty) bar.start(inputs.length * 100, 0, { file: '', stage: 'starting' });

  const lines: string[] = [];
  let failed = 0;
  for (const [index, file] of inputs.entries()) {
    const name = basename(file);
    const started = performance.now();
    try {
      const data = await readFile(file).catch((err: NodeJS.ErrnoException) => {
        throw new Error(
          err.code === 'ENOENT' ? 'file not found' : err.code === 'EISDIR' ? 'is a directory' : err.message,
        );
      });
      const result = await engine.enhance(data, options, {
        onProgress: (e) => {
          if (tty)
            bar.update(Math.round(index * 100 + e.progress * 100), {
              file: name,
              stage: e.total ? `${e.stage} ${e.done}/${e.total}` : e.stage,
            });
        },
      });
      const target = toDir
        ? join(flags.output, `${basename(file, extname(file))}_enhanced.${extensionFor(result.format)}`)
        : flags.output;
      await writeFile(target, result.data);
      const seconds = (performance.now() - started) / 1000;
      const facePart = flags.face ? `faces ${result.faces.restored}/${result.faces.detected} restored` : 'faces off';
      lines.push(
        `✔ ${name} → ${target}  ${result.input.width}×${result.input.height} → ${result.width}×${result.height}  ` +
          `${humanBytes(result.input.bytes)} → ${humanBytes(result.data.length)}  ${facePart}  models ${result.models.join(', ') || 'none'}  ${seconds.toFixed(2)} s`,
      );
      for (const w of [...(result.faces.notice ? [result.faces.notice] : []), ...result.warnings])
        lines.push(`  ! ${w}`);
    } catch (err) {
      failed++;
      lines.push(`✖ ${name}: ${failureReason(err)}`);
    }
  }
  if (tty) bar.stop();
  await engine.close();
  for (const l of lines) process.stdout.write(`${l}\n`);
  process.stdout.write(
    `${inputs.length - failed} of ${inputs.length} file(s) enhanced${failed ? `, ${failed} failed` : ''}.\n`,
  );
  return failed > 0 ? 1 : 0;
}

async function runModels(): Promise<number> {
  const rows = await modelStatus();
  const width = Math.max(...rows.map((r) => r.id.length));
  for (const r of rows) {
    process.stdout.write(
      `${r.ready ? '✔ ready  ' : '✖ missing'}  ${r.id.padEnd(width)}  ${r.task.padEnd(12)}  ${r.ready ? (r.path ?? '') : (r.reason ?? '')}\n`,
    );
  }
  return 0;
}

const ENHANCE_HELP: SharedHelp = {
  outputValue: 'file|dir',
  output: 'output file (one input) or directory (several inputs, or a path ending in /)',
  scale: 'output size relative to the input, 1–16 (Real-ESRGAN ×4, then a Lanczos resize)',
  quality:
    'fast = x4fast; high = x4plus; medium = x4plus on GPU or small images, else x4fast; auto = high on GPU, fast on CPU',
  faceModel:
    'face restorer: a model id (gfpgan-1.4, gpen-bfr-1024, …) or an ONNX restorer file [1,3,S,S] of any face size S',
  bgUpsampler: 'background upsampler; none = plain Lanczos resize (face-only work)',
  providers: 'ONNX Runtime execution providers in order of preference, e.g. cuda,cpu',
};

export function buildProgram(): Command {
  const program = new Command('photoenhance')
    .description(
      'AI portrait enhancement: restores faces (GFPGAN family) and super-resolves the rest (Real-ESRGAN), tiled, 1–16×.',
    )
    .showHelpAfterError('(run with --help for usage)');

  const enhance = program
    .command('enhance')
    .description('Enhance one or more images (files or quoted globs).')
    .argument('<inputs...>', 'image files or globs, e.g. photo.jpg "album/*.heic"');
  addTargetOptions(enhance, ENHANCE_HELP);
  const tiles = EnhanceOptionsSchema.shape;
  schemaOption(enhance, '-t, --tile <px>', 'tile side in input pixels; 0 = whole image when it fits', tiles.tileSize);
  schemaOption(enhance, '--tile-pad <px>', 'context pixels around each tile', tiles.tilePad);
  enhance.addOption(
    new Option('-f, --format <format>', 'output format; auto = from the output file name, else like the input')
      .choices(OUTPUT_FORMATS)
      .default('auto'),
  );
  schemaOption(
    enhance,
    '--output-quality <1-100>',
    'JPEG/WebP quality',
    EnhanceOptionsSchema.shape.output.unwrap().shape.quality,
  );
  enhance.option('--keep-metadata', 'carry EXIF and ICC profile to the output', false);
  addFaceOptions(enhance, ENHANCE_HELP);
  enhance.option('--only-center-face', 'restore only the most central/largest face', false);
  schemaOption(enhance, '--max-faces <n>', 'restore at most this many faces', FaceOptionsSchema.shape.maxFaces);
  addRuntimeOptions(enhance, ENHANCE_HELP);
  enhance
    .option('-m, --model <id>', 'upscaler model id, overriding --quality (see `photoenhance models`)')
    .addOption(
      new Option(
        '--precision <p>',
        'upscaler precision: auto = int8 on CPU where the model ships one (fidelity floor passed), fp16 on GPU, else fp32',
      )
        .choices(PRECISIONS)
        .default('auto'),
    )
    .option(
      '--memory-budget <MB>',
      'memory one photo may use beyond the loaded models (default: what this machine has free)',
      numberIn(1, 16_777_216, true),
    )
    .addHelpText(
      'after',
      `
Examples:
  photoenhance enhance photo.jpg -o photo_4x.png
  photoenhance enhance "album/*.jpg" -o out/ --scale 2 --quality fast
  photoenhance enhance portrait.heic -o out.jpg --face-model ~/models/gfpgan-v1.4.onnx

Exit status: 0 when every file was enhanced, 1 when any failed (each failure is listed with its reason).`,
    )
    .action(async (inputs: string[], flags: EnhanceFlags) => {
      process.exitCode = await runEnhance(inputs, flags);
    });

  addVideoCommand(program);

  program
    .command('models')
    .description('List the models and whether each is ready (prepare them with `npm run models`).')
    .action(async () => {
      process.exitCode = await runModels();
    });
  return program;
}

// `photoenhance models | head`: a closed pipe is the reader being done, not a failure.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`photoenhance: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
