/**
 * Prints the sha256 and size of the int8 file each manifest recipe builds (to pin in manifest.json
 * after a converter/quantizer change). Usage: node models/scripts/int8-pin.ts [model-id…]
 */
import { readFile } from 'node:fs/promises';
import { sha256Bytes } from '../src/files.ts';
import { quantizeUpscaler } from '../src/int8.ts';
import { loadManifest } from '../src/manifest.ts';
import { ensureModel } from '../src/prepare.ts';

const ids = process.argv.slice(2);
for (const entry of loadManifest().models) {
  const int8 = entry.variants.int8;
  if (!int8 || (ids.length > 0 && !ids.includes(entry.id))) continue;
  const started = performance.now();
  const bytes = await quantizeUpscaler(new Uint8Array(await readFile((await ensureModel(entry.id)).path)), int8.recipe);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${entry.id}: "sha256": "${sha256Bytes(bytes)}", "bytes": ${bytes.length}  (${seconds} s)\n`);
}
