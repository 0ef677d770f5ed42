import {
  assertFitsMemoryBudget,
  ENHANCE_FORM_FIELDS,
  EnhanceFormSchema,
  type EnhanceOptions,
  enhanceOptionsFromForm,
  mimeTypeFor,
  PhotoEnhanceError,
} from '@photoenhance/contracts';
import type { Storage } from '@photoenhance/core';
import { fromZodError } from '../http/errors.ts';
import type { ReceivedFile } from './receive-file.ts';

/** From the sniffed format, never from the client's claimed MIME type. */
export function contentTypeFor(format: string): string {
  return mimeTypeFor(format);
}

/** Form fields → engine options; 400 INVALID_OPTIONS naming the field. Unknown fields are ignored. */
export function parseEnhanceFields(body: Record<string, unknown>): EnhanceOptions {
  const fields: Record<string, unknown> = {};
  for (const name of ENHANCE_FORM_FIELDS) {
    const value = body[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      throw new PhotoEnhanceError('INVALID_OPTIONS', `${name}: must be a text field`, { details: { fields: [name] } });
    }
    fields[name] = value;
  }
  const parsed = EnhanceFormSchema.safeParse(fields);
  if (!parsed.success) throw fromZodError(parsed.error);
  return enhanceOptionsFromForm(parsed.data);
}

/**
 * Refuses (422 MEMORY_BUDGET_EXCEEDED, with the numbers) a photo no worker could hold when the fleet's
 * WORKER_MEMORY_BUDGET_MB is set. Faces are not known yet and the provider picks the model for 'auto'
 * and 'medium': the estimate takes the lighter model, so only what surely cannot fit is refused here — the
 * worker checks the exact job again before it starts.
 */
export function checkWorkerMemory(
  probe: { width: number; height: number; hasAlpha: boolean; bitDepth: 8 | 16 },
  options: EnhanceOptions,
  budgetMb: number,
): void {
  if (budgetMb <= 0) return;
  const upscaleModel = !options.backgroundUpsampler
    ? null
    : (options.upscaleModel ?? (options.quality === 'high' ? 'realesrgan-x4plus' : 'realesrgan-x4fast'));
  assertFitsMemoryBudget(
    {
      width: probe.width,
      height: probe.height,
      scale: options.scale,
      upscaleModel,
      faces: 0,
      alpha: probe.hasAlpha,
      bitDepth: probe.bitDepth,
      tileSize: options.tileSize,
      tilePad: options.tilePad,
    },
    budgetMb * 1024 * 1024,
    'a worker (WORKER_MEMORY_BUDGET_MB)',
  );
}

/** What a streamed file part became: stored under `key`, probed, and named safely. */
export interface StoredUpload extends ReceivedFile {
  filename: string;
}

/** Removes the inputs of files stored for a request that is refused after all (best effort: inputs/ expires). */
export async function discardUploads(storage: Pick<Storage, 'delete'>, keys: readonly string[]): Promise<void> {
  await Promise.allSettled(keys.map((key) => storage.delete(key)));
}
