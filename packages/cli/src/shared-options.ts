import {
  type EnhanceOptionsInput,
  EnhanceOptionsSchema,
  FaceOptionsSchema,
  isPhotoEnhanceError,
  QUALITY_LEVELS,
} from '@photoenhance/contracts';
import { createEngine, parseExecutionProviders } from '@photoenhance/engine';
import { type Command, InvalidArgumentError, Option } from 'commander';

/**
 * The options `enhance` and `video` share, defined once: name, help, default and accepted values. Ranges and
 * defaults of the enhance options come from the zod schemas in @photoenhance/contracts (EnhanceOptionsSchema),
 * so the CLI accepts exactly what the API and the engine accept.
 */

/** A number flag checked against [min, max] (and integer when asked): commander's parser for it. */
export function numberIn(min: number, max: number, integer = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    }
    return n;
  };
}

/** What a zod number field (z.number().min().max().int(), with or without .default()) says about itself. */
interface NumberBounds {
  minValue: number | null;
  maxValue: number | null;
  isInt: boolean;
}
type NumberField = NumberBounds | { unwrap(): NumberBounds; def: { defaultValue: unknown } };

/** The bounds and default a schema field declares, for a flag's parser and its default value. */
export function schemaNumber(field: NumberField): { parse: (value: string) => number; fallback: number | undefined } {
  const inner = 'unwrap' in field ? field.unwrap() : field;
  const min = inner.minValue ?? Number.NEGATIVE_INFINITY;
  const max = inner.maxValue ?? Number.POSITIVE_INFINITY;
  const fallback = 'unwrap' in field ? Number(field.def.defaultValue) : undefined;
  return { parse: numberIn(min, max, inner.isInt), fallback };
}

/** Adds a number option whose range and default are the schema field's (the default may be overridden). */
export function schemaOption(command: Command, flags: string, help: string, field: NumberField, fallback?: number) {
  const { parse, fallback: declared } = schemaNumber(field);
  return command.option(flags, help, parse, fallback ?? declared);
}

/** What the shared options parse to; each command's own flags extend it. */
export interface SharedFlags {
  output: string;
  scale: number;
  quality: (typeof QUALITY_LEVELS)[number];
  face: boolean;
  faceModel: string;
  faceBlend: number;
  fidelity: number;
  bgUpsampler: 'realesrgan' | 'none';
  providers: string;
  threads?: number;
}

export interface SharedHelp {
  /** What -o names: `file|dir` (photos) or `file` (a video). */
  outputValue: string;
  output: string;
  /** The scale this command uses when none is given (the schema's own default otherwise). */
  scaleDefault?: number;
  scale: string;
  quality: string;
  faceModel: string;
  bgUpsampler: string;
  providers: string;
}

const face = FaceOptionsSchema.shape;

/** -o, -s, -q: what to write and how large, in every command. */
export function addTargetOptions(command: Command, help: SharedHelp): Command {
  command.requiredOption(`-o, --output <${help.outputValue}>`, help.output);
  schemaOption(command, '-s, --scale <n>', help.scale, EnhanceOptionsSchema.shape.scale, help.scaleDefault);
  return command.addOption(
    new Option('-q, --quality <level>', help.quality)
      .choices(QUALITY_LEVELS)
      .default(EnhanceOptionsSchema.shape.quality.def.defaultValue),
  );
}

/** Face restoration: on or off, which restorer, how much of it. */
export function addFaceOptions(command: Command, help: SharedHelp): Command {
  command.option('--no-face', 'skip face detection and restoration');
  command.option('--face-model <id|path>', help.faceModel, face.model.def.defaultValue as string);
  schemaOption(
    command,
    '--face-blend <0-1>',
    'blend restored faces: 0 = keep upscaled, 1 = fully restored',
    face.blend,
  );
  return schemaOption(
    command,
    '--fidelity <0-1>',
    'fidelity weight for models that take one (CodeFormer)',
    face.fidelity,
  );
}

/** The background upsampler and where inference runs. */
export function addRuntimeOptions(command: Command, help: SharedHelp): Command {
  command.addOption(
    new Option('--bg-upsampler <name>', help.bgUpsampler).choices(['realesrgan', 'none']).default('realesrgan'),
  );
  command.option('--providers <list>', help.providers, process.env.ORT_PROVIDERS ?? 'cpu');
  return command.option('--threads <n>', 'intra-op threads for CPU inference', numberIn(1, 256, true));
}

/** The part of the enhance options the shared flags decide. */
export function sharedEnhanceOptions(flags: SharedFlags): Pick<
  EnhanceOptionsInput,
  'scale' | 'quality' | 'backgroundUpsampler'
> & {
  face: NonNullable<EnhanceOptionsInput['face']>;
} {
  return {
    scale: flags.scale,
    quality: flags.quality,
    backgroundUpsampler: flags.bgUpsampler !== 'none',
    face: { enabled: flags.face, model: flags.faceModel, blend: flags.faceBlend, fidelity: flags.fidelity },
  };
}

/** The engine as the CLI runs it: model files allowed as --face-model, warnings to stderr. */
export function createCliEngine(
  flags: Pick<SharedFlags, 'providers' | 'threads'>,
  more: Partial<Parameters<typeof createEngine>[0]> = {},
) {
  return createEngine({
    // The operator at the command line may point --face-model at a file; workers never allow it.
    allowModelPaths: true,
    runtime: {
      executionProviders: parseExecutionProviders(flags.providers),
      ...(flags.threads ? { intraOpThreads: flags.threads } : {}),
    },
    log: {
      info: () => {},
      warn: (obj, msg) =>
        process.stderr.write(`warning: ${msg ?? (typeof obj === 'string' ? obj : JSON.stringify(obj))}\n`),
    },
    ...more,
  });
}

/** One line for a failed file: the error code and message of our own errors, the message of others. */
export function failureReason(err: unknown): string {
  if (isPhotoEnhanceError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
