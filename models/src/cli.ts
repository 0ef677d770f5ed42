/**
 * `npm run models`: prepares, downloads, registers and lists PhotoEnhance's models.
 * The logic lives in prepare.ts / registry.ts; this file only parses arguments and prints.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isModelError } from './errors.ts';
import { loadManifest, MODEL_TASKS, type ModelTask } from './manifest.ts';
import {
  downloadModel,
  getModelEntry,
  modelDir,
  modelStatus,
  prepareGeneratedModel,
  prepareNpmModels,
} from './prepare.ts';
import { registerCustomModel } from './registry.ts';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  fetch?: typeof globalThis.fetch;
}

function helpText(): string {
  const urlModels = loadManifest().models.filter((m) => m.source.kind === 'url' || m.source.kind === 'generated');
  const width = Math.max(...urlModels.map((m) => m.id.length));
  const downloadable = urlModels
    .map(
      (m) =>
        `    ${m.id.padEnd(width)}  ${m.licence.name}${m.variants.fp32.sha256 === null ? '  (no pinned sha256: needs --trust-unverified)' : ''}${m.source.kind === 'generated' ? '  (generated here, random weights: output is noise; for benchmarks)' : ''}`,
    )
    .join('\n');
  return `Prepare the AI models PhotoEnhance runs on.

Usage:
  npm run models                      Prepare the offline models: Real-ESRGAN x4fast and x4plus
                                      (converted from ncnn to ONNX, fp32 + fp16) and BlazeFace.
                                      Files that already verify are left alone.
  npm run models -- list              Show every model and whether it is ready.
  npm run models -- --with <id>       Also download a face restorer (repeatable).
  npm run models -- --model <file.onnx> --id <name> --task <task>
                                      Register your own ONNX model file.

Options:
  --with <id>           Download a model that cannot be bundled. The file is streamed to the cache,
                        checked against its pinned sha256 and only then moved into place; a corrupt
                        or truncated download is deleted and the command fails. Models:
${downloadable}
  --trust-unverified    Accept a download that has no pinned sha256 (its hash is recorded so later
                        changes are detected). Only use it for a source you trust.
  --only <id>           Prepare only this offline model (repeatable), e.g. --only realesrgan-x4fast.
  --model <file.onnx>   Register a custom model. onnxruntime must load it and its inputs/outputs must
                        fit the task: face-restore = one float32 input [1,3,512,512] in [-1,1] and the
                        same output; upscale = one float32 input [1,3,H,W] in [0,1] and an output that
                        is an integer multiple of it. The file is used in place, pinned by its sha256.
  --id <name>           Id for --model (lowercase letters, digits, . _ -).
  --task <task>         Task for --model: ${MODEL_TASKS.filter((t) => t !== 'face-detect').join(' | ')}.
  --title <text>        Optional description for --model.
  --list                Same as \`list\`; add --json for machine-readable output.
  -h, --help            Show this help.

Environment:
  PHOTOENHANCE_MODEL_DIR  Model cache directory (now: ${modelDir()}).

Licences: Real-ESRGAN weights are BSD-3-Clause, BlazeFace Apache-2.0, GFPGAN Apache-2.0. CodeFormer and
GPEN are for NON-COMMERCIAL use only; RestoreFormer++ states no licence. See models/manifest.json.

Exit status: 0 on success, 1 when something failed (the reason is printed), 2 on a usage error.`;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\nRun \`npm run models -- --help\` for usage.`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(helpText());
    return 0;
  }
  const command = positionals[0];
  if (positionals.length > 1 || (command !== undefined && command !== 'list')) {
    io.err(`unknown command "${positionals.join(' ')}"\nRun \`npm run models -- --help\` for usage.`);
    return 2;
  }
  const log = (msg: string) => io.err(msg);
  try {
    if (command === 'list' || values.list) return await list(io, values.json ?? false);
    if (values.model !== undefined) {
      if (!values.id || !values.task) {
        io.err('--model needs --id <name> and --task <face-restore|upscale>');
        return 2;
      }
      if (!(MODEL_TASKS as readonly string[]).includes(values.task)) {
        io.err(`--task must be one of ${MODEL_TASKS.join(', ')}, not "${values.task}"`);
        return 2;
      }
      const entry = await registerCustomModel(values.model, {
        id: values.id,
        task: values.task as ModelTask,
        title: values.title,
      });
      io.out(
        `registered ${entry.id} (${entry.task}${entry.scale ? `, ×${entry.scale}` : ''}) → ${entry.variants.fp32.file}`,
      );
      return 0;
    }

    const only = values.only ?? [];
    const offline = loadManifest().models.filter(
      (m) => m.source.kind === 'npm' && (only.length === 0 || only.includes(m.id)),
    );
    for (const id of only) {
      if (getModelEntry(id).source.kind !== 'npm') {
        io.err(`--only ${id}: not an offline model (use --with ${id})`);
        return 2;
      }
    }
    for (const id of values.with ?? []) getModelEntry(id); // unknown ids fail before any work starts

    const started = performance.now();
    const report = await prepareNpmModels(offline, log);
    const written = report.filter((r) => r.action === 'written').length;
    io.out(
      `offline models ready in ${modelDir()}: ${report.length} files (${written} written, ${report.length - written} already up to date) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    for (const id of values.with ?? []) {
      const entry = getModelEntry(id);
      if (entry.source.kind === 'generated') {
        const { path, action } = await prepareGeneratedModel(entry, 'fp32', log);
        io.out(`${id}: ${action === 'kept' ? 'already generated and verified' : 'generated'} → ${path}`);
        io.err(`note: ${id} has random weights: its output is noise, for cost and plumbing tests only.`);
        continue;
      }
      if (/non-commercial/i.test(`${entry.licence.name} ${entry.licence.notes ?? ''}`))
        io.err(`note: ${id} is licensed for NON-COMMERCIAL use only (${entry.licence.name}).`);
      const { path, action } = await downloadModel(id, {
        trustUnverified: values['trust-unverified'],
        log,
        fetch: io.fetch,
      });
      io.out(`${id}: ${action === 'kept' ? 'already downloaded and verified' : 'downloaded'} → ${path}`);
    }
    return 0;
  } catch (err) {
    io.err(`error: ${isModelError(err) ? err.message : ((err as Error).stack ?? String(err))}`);
    return 1;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      list: { type: 'boolean' },
      json: { type: 'boolean' },
      with: { type: 'string', multiple: true },
      only: { type: 'string', multiple: true },
      'trust-unverified': { type: 'boolean' },
      model: { type: 'string' },
      id: { type: 'string' },
      task: { type: 'string' },
      title: { type: 'string' },
    },
  });
}

async function list(io: CliIo, json: boolean): Promise<number> {
  const statuses = await modelStatus();
  if (json) {
    io.out(JSON.stringify(statuses, null, 2));
    return 0;
  }
  const width = Math.max(...statuses.map((s) => s.id.length));
  io.out(`models in ${modelDir()}:`);
  for (const s of statuses) {
    io.out(
      `  ${s.ready ? 'ready  ' : 'missing'}  ${s.id.padEnd(width)}  ${s.task.padEnd(12)}  ${s.ready ? s.path : s.reason}`,
    );
  }
  return 0;
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const code = await runCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
  });
  process.exitCode = code;
}
